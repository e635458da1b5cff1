// A canned OpenAI-compatible upstream on loopback, started only when no provider credentials are
// configured, so that a fresh checkout answers `buf curl` through the real OpenAI adapter and a
// real socket. It is not a model: it says so in every answer.
import http from "node:http";
import type { AddressInfo } from "node:net";

type ChatRequest = { model?: string; stream?: boolean; messages?: { role: string; content: unknown }[]; input?: unknown };

function lastUserText(body: ChatRequest): string {
  const user = [...(body.messages ?? [])].reverse().find((m) => m.role === "user");
  if (!user) return "";
  if (typeof user.content === "string") return user.content;
  if (Array.isArray(user.content)) return user.content.map((p: { text?: string }) => p.text ?? "").join(" ");
  return "";
}

function answerFor(body: ChatRequest): string {
  const said = lastUserText(body).slice(0, 200);
  return `Hello from Switchboard's demo upstream (canned, not a model). You said: "${said}". Set OPENAI_API_KEY or write a switchboard.yaml to reach real providers.`;
}

const words = (text: string) => text.match(/\S+\s*/g) ?? [];

async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  let body: ChatRequest = {};
  try {
    body = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}") as ChatRequest;
  } catch {
    res.writeHead(400, { "content-type": "application/json" });
    res.end(JSON.stringify({ error: { message: "invalid JSON", type: "invalid_request_error" } }));
    return;
  }
  const model = body.model ?? "demo";
  if (req.url?.endsWith("/embeddings")) {
    const inputs = Array.isArray(body.input) ? (body.input as string[]) : [String(body.input ?? "")];
    const data = inputs.map((text, index) => ({ object: "embedding", index, embedding: [text.length, 1, 0] }));
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ object: "list", data, model, usage: { prompt_tokens: inputs.length, total_tokens: inputs.length } }));
    return;
  }
  if (!req.url?.endsWith("/chat/completions")) {
    res.writeHead(404, { "content-type": "application/json" });
    res.end(JSON.stringify({ error: { message: `no route ${req.url}`, type: "invalid_request_error" } }));
    return;
  }
  const text = answerFor(body);
  const usage = { prompt_tokens: words(lastUserText(body)).length + 8, completion_tokens: words(text).length, total_tokens: 0 };
  usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;
  const base = { id: `chatcmpl-demo-${Date.now()}`, created: Math.floor(Date.now() / 1000), model };
  if (!body.stream) {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(
      JSON.stringify({
        ...base,
        object: "chat.completion",
        choices: [{ index: 0, message: { role: "assistant", content: text }, finish_reason: "stop" }],
        usage,
      }),
    );
    return;
  }
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
  const send = (choices: unknown[], u: unknown = null) =>
    res.write(`data: ${JSON.stringify({ ...base, object: "chat.completion.chunk", choices, usage: u })}\n\n`);
  for (const word of words(text)) {
    if (res.destroyed) return;
    send([{ index: 0, delta: { content: word }, finish_reason: null }]);
    await new Promise((r) => setTimeout(r, 15));
  }
  send([{ index: 0, delta: {}, finish_reason: "stop" }]);
  send([], usage);
  res.end("data: [DONE]\n\n");
}

export type DemoUpstream = { baseUrl: string; close(): Promise<void> };

export async function startDemoUpstream(): Promise<DemoUpstream> {
  const server = http.createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
