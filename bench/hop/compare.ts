// The upstream hop alone, in one process against the same fake (in its own process): the `openai`
// SDK given the repository's fetch shim (server/providers/transport.ts createUndiciFetch) against the
// lean undici.request client (bench/hop/lean-client.ts) and the gateway's own lean client
// (server/providers/openai-http.ts over the transport's request, what the openai adapters use).
// Calls/s and CPU per call of this process, 32 calls in flight, alternating rounds; unary and
// 200-token streams. Every answer is checked and the fake's counter must match the calls made.
//   npm run bench:hop [-- --rounds 3 --unary 20000 --streams 2000]
import OpenAI from "openai";
import { Agent } from "undici";
import { parseArgs } from "node:util";
import { createOpenAIHttpClient } from "../../server/providers/openai-http.js";
import { createTransport, createUndiciFetch } from "../../server/providers/transport.js";
import { fakeCounts, startFake } from "../processes.js";
import { createLeanClient } from "./lean-client.js";

const { values } = parseArgs({
  options: { rounds: { type: "string", default: "3" }, unary: { type: "string", default: "20000" }, streams: { type: "string", default: "2000" } },
});
const CONCURRENCY = 32;
const TOKENS = 200;

type Chunk = { choices?: Array<{ delta?: { content?: string | null } }>; usage?: { completion_tokens?: number } | null };
type Completion = { choices?: Array<{ message?: { content?: string | null } }> };
type Variant = { name: string; unary(): Promise<void>; stream(): Promise<void> };

const fake = await startFake();
const baseUrl = `http://127.0.0.1:${fake.port}/v1`;
const agent = () => new Agent({ connections: 256, keepAliveTimeout: 30_000, keepAliveMaxTimeout: 600_000 });
const unaryBody = { model: "gpt-4o-mini", messages: [{ role: "user" as const, content: "ping" }] };
const streamBody = { ...unaryBody, stream: true as const, stream_options: { include_usage: true }, max_completion_tokens: TOKENS };

function checkCompletion(c: Completion): void {
  if (c.choices?.[0]?.message?.content !== "pong") throw new Error(`unexpected answer ${JSON.stringify(c)}`);
}
function checkStream(tokens: number, usage: number | undefined): void {
  if (tokens !== TOKENS || usage !== TOKENS) throw new Error(`stream gave ${tokens} tokens, usage ${usage}`);
}

const sdk = new OpenAI({ apiKey: "sk-bench-0000000000", baseURL: baseUrl, maxRetries: 0, fetch: createUndiciFetch(agent()) });
const lean = createLeanClient({ baseUrl, apiKey: "sk-bench-0000000000", dispatcher: agent() });
// No proxy variables: the transport's own Agent, with the same pool settings as agent().
const transport = createTransport({ env: {} });
const gatewayClient = createOpenAIHttpClient({ provider: "bench", baseUrl, apiKey: "sk-bench-0000000000", request: transport.request, requestWhole: transport.requestWhole });

const variants: Variant[] = [
  {
    name: "openai SDK + fetch shim",
    unary: async () => checkCompletion((await sdk.chat.completions.create(unaryBody)) as Completion),
    async stream() {
      let tokens = 0;
      let usage: number | undefined;
      for await (const chunk of await sdk.chat.completions.create(streamBody)) {
        if (chunk.choices[0]?.delta?.content) tokens++;
        if (chunk.usage) usage = chunk.usage.completion_tokens;
      }
      checkStream(tokens, usage);
    },
  },
  {
    name: "lean undici.request client",
    unary: async () => checkCompletion((await lean.complete(unaryBody)) as Completion),
    async stream() {
      let tokens = 0;
      let usage: number | undefined;
      for await (const chunk of lean.stream(streamBody) as AsyncGenerator<Chunk>) {
        if (chunk.choices?.[0]?.delta?.content) tokens++;
        if (chunk.usage) usage = chunk.usage.completion_tokens;
      }
      checkStream(tokens, usage);
    },
  },
  {
    name: "gateway client (openai-http.ts)",
    unary: async () => checkCompletion((await gatewayClient.post("/chat/completions", unaryBody)) as Completion),
    async stream() {
      let tokens = 0;
      let usage: number | undefined;
      for await (const chunk of (await gatewayClient.stream("/chat/completions", streamBody)) as AsyncIterable<Chunk>) {
        if (chunk.choices?.[0]?.delta?.content) tokens++;
        if (chunk.usage) usage = chunk.usage.completion_tokens;
      }
      checkStream(tokens, usage);
    },
  },
];

type Figure = { callsPerS: number; cpuUsPerCall: number };

async function closedLoop(calls: number, call: () => Promise<void>): Promise<Figure> {
  const before = await fakeCounts(fake.port);
  let started = 0;
  const worker = async () => {
    while (started < calls) {
      started++;
      await call();
    }
  };
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const seconds = (performance.now() - t0) / 1000;
  const used = process.cpuUsage(cpu);
  const reached = (await fakeCounts(fake.port)).ok - before.ok;
  if (reached !== calls) throw new Error(`the fake served ${reached} calls, expected ${calls}`);
  return { callsPerS: calls / seconds, cpuUsPerCall: (used.user + used.system) / calls };
}

const median = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1]!;
const results = new Map<string, { unary: Figure[]; stream: Figure[] }>(variants.map((v) => [v.name, { unary: [], stream: [] }]));
try {
  for (const v of variants) {
    await closedLoop(2_000, v.unary); // warm-up: JIT, pools
    await closedLoop(200, v.stream);
  }
  for (let round = 0; round < Number(values.rounds); round++) {
    const order = round % 2 === 0 ? variants : [...variants].reverse();
    for (const v of order) {
      results.get(v.name)!.unary.push(await closedLoop(Number(values.unary), v.unary));
      results.get(v.name)!.stream.push(await closedLoop(Number(values.streams), v.stream));
    }
    console.error(`round ${round + 1} done`);
  }
} finally {
  await fake.stop();
  await transport.close();
}

console.log(`\nupstream hop in one process, ${CONCURRENCY} in flight, median of ${values.rounds} alternating rounds\n`);
console.log("| client | unary calls/s | unary CPU µs/call | 200-token streams/s | stream CPU µs/call |");
console.log("|---|---|---|---|---|");
for (const [name, r] of results) {
  const f = (xs: Figure[], k: keyof Figure) => median(xs.map((x) => x[k])).toFixed(0);
  console.log(`| ${name} | ${f(r.unary, "callsPerS")} | ${f(r.unary, "cpuUsPerCall")} | ${f(r.stream, "callsPerS")} | ${f(r.stream, "cpuUsPerCall")} |`);
}
const [sdkResults, ...others] = [...results.entries()];
const cpu = (figures: Figure[]) => median(figures.map((x) => x.cpuUsPerCall));
for (const [name, r] of others) {
  const ratio = (k: "unary" | "stream") => (cpu(sdkResults![1][k]) / cpu(r[k])).toFixed(2);
  console.log(`\nCPU per call, SDK / ${name}: unary ${ratio("unary")}×, stream ${ratio("stream")}×`);
}
