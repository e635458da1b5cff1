// The caller's commands of the CLI, through the client library over gRPC:
//   switchboard complete [--model ALIAS] [--system TEXT] [--json] PROMPT…   one answer (prompt from stdin when none)
//   switchboard chat [--model ALIAS] [--system TEXT]                        interactive, streamed, cost per answer
// Each takes --config FILE, --address HOST:PORT, --api-key KEY (or SWITCHBOARD_API_KEY).
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { toJsonString } from "@bufbuild/protobuf";
import { ConnectError } from "@connectrpc/connect";
import { parts, systemText, userText, type CompleteInput } from "../../clients/inference-client.js";
import { CompleteResponseSchema, Role, type Route, type Usage } from "../../gen/switchboard/v1/inference_pb.js";
import { ConfigError } from "../config/load.js";
import { usdFromNano } from "./table.js";
import { inferenceTarget, type InferenceTarget } from "./target.js";

export const INFERENCE_COMMANDS = ["chat", "complete"];

export const INFERENCE_USAGE = `  switchboard complete [--model ALIAS] [--system TEXT] [--json] PROMPT…   one completion (the prompt from stdin when none is given)
  switchboard chat [--model ALIAS] [--system TEXT]                        interactive streamed chat; prints each answer's cost (/reset, /exit)
  both take --config FILE, --address HOST:PORT, --api-key KEY (or SWITCHBOARD_API_KEY), --max-tokens N, --timeout-ms MS`;

export type InferenceIo = {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  /** Writes as is (answers stream in pieces). */
  write(text: string): void;
  err(text: string): void;
  env: NodeJS.ProcessEnv;
};

const OPTIONS = {
  config: { type: "string", short: "c" },
  address: { type: "string" },
  "api-key": { type: "string" },
  model: { type: "string", short: "m" },
  system: { type: "string", short: "s" },
  "max-tokens": { type: "string" },
  "timeout-ms": { type: "string" },
  json: { type: "boolean" },
} as const;

type Flags = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>["values"];

class UsageError extends Error {}

function positiveInt(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`--${flag} ${value}: expected a positive integer`);
  return n;
}

/** "$0.000012345 · openai-main/gpt-4o-mini · 10 in, 3 out tokens": what an answer cost and who served it. */
export function costLine(usage: Usage | undefined, route: Route | undefined): string {
  const served = route ? `${route.provider}/${route.targetModel}` : "unknown route";
  if (!usage) return `cost unknown · ${served}`;
  const cost = usage.priced ? `$${usdFromNano(usage.costNanoUsd)}` : "cost unknown (no price for this model)";
  const tokens = `${usage.inputTokens} in, ${usage.outputTokens} out tokens${usage.estimated ? " (estimated)" : ""}`;
  return `${cost} · ${served} · ${tokens}`;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  let text = "";
  for await (const chunk of stream) text += chunk.toString();
  return text;
}

function requestOf(flags: Flags, messages: CompleteInput["messages"]): CompleteInput {
  const maxOutputTokens = positiveInt("max-tokens", flags["max-tokens"]);
  return { model: flags.model ?? "chat-default", messages, generation: maxOutputTokens ? { maxOutputTokens } : undefined };
}

async function complete(target: InferenceTarget, flags: Flags, prompt: string, io: InferenceIo): Promise<number> {
  const messages = [...(flags.system ? [systemText(flags.system)] : []), userText(prompt)];
  const response = await target.client.complete(requestOf(flags, messages));
  if (flags.json) {
    io.write(`${toJsonString(CompleteResponseSchema, response)}\n`);
    return 0;
  }
  const text = response.message?.content.map((p) => (p.part.case === "text" ? p.part.value : "")).join("") ?? "";
  io.write(text.endsWith("\n") ? text : `${text}\n`);
  io.err(costLine(response.usage, response.route));
  return 0;
}

async function chat(target: InferenceTarget, flags: Flags, io: InferenceIo): Promise<number> {
  const interactive = io.stdin.isTTY === true;
  const lines = createInterface({ input: io.stdin, terminal: interactive });
  const system = flags.system ? [systemText(flags.system)] : [];
  let history: CompleteInput["messages"] = [...system];
  let current: AbortController | undefined;
  let total = 0n;
  let answers = 0;
  // Ctrl-C stops the answer being streamed; at the prompt it ends the chat.
  lines.on("SIGINT", () => (current ? current.abort(new Error("interrupted")) : lines.close()));
  const prompt = () => interactive && lines.prompt();
  if (interactive) io.write(`chat with ${flags.model ?? "chat-default"} at ${target.address} (/reset clears the history, /exit or Ctrl-D ends)\n`);
  lines.setPrompt("you> ");
  prompt();
  for await (const line of lines) {
    const text = line.trim();
    if (text === "/exit" || text === "/quit") break;
    if (text === "/reset") {
      history = [...system];
      io.write("(history cleared)\n");
    }
    if (text === "" || text === "/reset") {
      prompt();
      continue;
    }
    const asked: CompleteInput["messages"] = [...(history ?? []), userText(text)];
    current = new AbortController();
    let answer = "";
    try {
      for await (const chunk of target.client.streamComplete(requestOf(flags, asked), { signal: current.signal })) {
        if (chunk.event.case === "textDelta") {
          answer += chunk.event.value.text;
          io.write(chunk.event.value.text);
        } else if (chunk.event.case === "done") {
          const { usage, route } = chunk.event.value;
          io.write(`${answer.endsWith("\n") ? "" : "\n"}[${costLine(usage, route)}]\n`);
          if (usage?.priced) total += usage.costNanoUsd;
          answers++;
        }
      }
      history = [...(asked ?? []), { role: Role.ASSISTANT, content: [parts.text(answer)] }];
    } catch (error) {
      // The question stays out of the history: the next one is asked without it.
      io.write(answer === "" ? "" : "\n");
      io.err(`error: ${ConnectError.from(error).message}`);
    } finally {
      current = undefined;
    }
    prompt();
  }
  lines.close();
  io.write(`total: $${usdFromNano(total)} over ${answers} answer${answers === 1 ? "" : "s"}\n`);
  return 0;
}

/** Runs chat or complete; returns the exit code (2 for a usage mistake, 1 for a failed call). */
export async function runInferenceCommand(argv: string[], io: InferenceIo): Promise<number> {
  try {
    const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: OPTIONS });
    const [command, ...words] = positionals;
    const timeoutMs = positiveInt("timeout-ms", values["timeout-ms"]) ?? 120_000;
    const target = await inferenceTarget(values, io.env, timeoutMs);
    if (command === "chat") {
      if (words.length > 0) throw new UsageError("chat takes no prompt: type it at the prompt");
      return await chat(target, values, io);
    }
    const prompt = words.length > 0 ? words.join(" ") : (await readAll(io.stdin)).trim();
    if (prompt === "") throw new UsageError("complete needs a prompt (as arguments or on stdin)");
    return await complete(target, values, prompt, io);
  } catch (error) {
    if (error instanceof ConfigError) {
      io.err(error.message);
      return 2;
    }
    if (error instanceof UsageError || (error instanceof TypeError && "code" in error)) {
      io.err(`switchboard: ${error.message}\n${INFERENCE_USAGE}`);
      return 2;
    }
    if (error instanceof ConnectError) {
      io.err(`switchboard: ${error.message}`);
      return 1;
    }
    throw error;
  }
}
