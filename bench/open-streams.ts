// Resident memory of the gateway with N concurrent open streams. The fake sends one token a second,
// so every stream stays open; it listens on 40 loopback origins (127.0.0.1…40) behind a round-robin
// alias because the gateway's upstream pool holds at most 256 connections per origin — one origin
// would leave most streams queued in the gateway instead of open upstream. The figure is read
// once the fake holds all N streams and the caller has seen a token on each; then the caller
// cancels them all and the fake must see every upstream request end.
import http2 from "node:http2";
import { gatewayStream, openSession } from "./grpc-probe.js";
import { waitUntil } from "./measure.js";
import { fakeCounts, sampleProc, startFake } from "./processes.js";
import { grpcBody, isDone, isTextDelta, scenario, SERVICE, streamRequest } from "./scenarios.js";
import type { Row } from "./report.js";
import { fakeProvider, startGateway } from "./targets.js";

const ORIGINS = 40;
const STREAMS_PER_SESSION = 100;

export type OpenStreams = { streams: number; rssIdleBytes: number; rssOpenBytes: number; upstreamOpen: number; cancelledUpstreamClosed: boolean };

export async function measureOpenStreams(streams: number, log: (line: string) => void): Promise<OpenStreams> {
  const fake = await startFake({ tokenIntervalMs: 1_000, hosts: ORIGINS });
  const providers: Record<string, unknown> = {};
  const targets: unknown[] = [];
  for (let i = 1; i <= ORIGINS; i++) {
    providers[`up${i}`] = { ...fakeProvider(fake.port), base_url: `http://127.0.0.${i}:${fake.port}/v1` };
    targets.push({ provider: `up${i}`, model: "gpt-4o-mini" });
  }
  const gateway = await startGateway({ providers, models: { chat: { strategy: "round-robin", retry: { max_attempts: 1 }, timeout_ms: 600_000, targets } } });
  const sessions: http2.ClientHttp2Session[] = [];
  try {
    const s = scenario("stream");
    // Enough tokens that no stream ends during the measurement (one token a second).
    const frame = grpcBody({ ...s, request: streamRequest(3_600) });
    const warm = await openSession(gateway.baseUrl);
    sessions.push(warm);
    // One short stream first, so lazily loaded parts (tokenizer tables, pools) are not counted per stream.
    await gatewayStream(warm, `${SERVICE}/StreamComplete`, grpcBody({ ...s, request: streamRequest(1) }), isTextDelta, isDone);
    const rssIdleBytes = sampleProc(gateway.pid).rssBytes;
    let flowing = 0;
    let failed = 0;
    for (let i = 0; i < streams; i++) {
      if (i % STREAMS_PER_SESSION === 0) sessions.push(await openSession(gateway.baseUrl));
      const stream = sessions.at(-1)!.request({ ":method": "POST", ":path": `${SERVICE}/StreamComplete`, "content-type": "application/grpc", te: "trailers" });
      let seen = false;
      let pending: Buffer = Buffer.alloc(0);
      stream.on("data", (chunk: Buffer) => {
        // A text delta means this stream is open all the way to the fake; then stop looking.
        if (seen) return;
        pending = Buffer.concat([pending, chunk]);
        while (!seen && pending.length >= 5 && pending.length >= 5 + pending.readUInt32BE(1)) {
          const end = 5 + pending.readUInt32BE(1);
          if (isTextDelta(pending.subarray(5, end))) {
            seen = true;
            flowing++;
          }
          pending = pending.subarray(end);
        }
      });
      stream.on("error", () => failed++);
      stream.on("trailers", (t) => {
        if (t["grpc-status"] !== "0") failed++;
      });
      stream.end(frame);
    }
    log(`opened ${streams} streams; waiting for all to flow`);
    let upstreamOpen = 0;
    await waitUntil(async () => {
      if (failed > 0) throw new Error(`${failed} streams failed`);
      upstreamOpen = (await fakeCounts(fake.port)).open;
      return flowing === streams && upstreamOpen === streams;
    }, 300_000, `${streams} flowing streams`).catch((error: Error) => {
      throw new Error(`${error.message}: ${flowing} had a token at the caller, ${upstreamOpen} open at the fake, gateway RSS ${(sampleProc(gateway.pid).rssBytes / 2 ** 20).toFixed(0)} MiB`);
    });
    const rssOpenBytes = sampleProc(gateway.pid).rssBytes;
    upstreamOpen = (await fakeCounts(fake.port)).open;
    for (const session of sessions) session.destroy();
    sessions.length = 0;
    let cancelledUpstreamClosed = true;
    await waitUntil(async () => (await fakeCounts(fake.port)).open === 0, 60_000, "the upstream streams to close after cancel").catch(() => {
      cancelledUpstreamClosed = false;
    });
    return { streams, rssIdleBytes, rssOpenBytes, upstreamOpen, cancelledUpstreamClosed };
  } finally {
    for (const session of sessions) session.destroy();
    await gateway.stop();
    await fake.stop();
  }
}

export function openStreamRows(r: OpenStreams): Row[] {
  const mib = (b: number) => (b / 2 ** 20).toFixed(0);
  return [
    {
      figure: `RSS with ${r.streams.toLocaleString("en-US")} concurrent open streams`,
      value: `${mib(r.rssOpenBytes)} MiB`,
      detail: `after one warm-up stream ${mib(r.rssIdleBytes)} MiB; ${((r.rssOpenBytes - r.rssIdleBytes) / r.streams / 1024).toFixed(1)} KiB per stream; ${r.upstreamOpen} open at the fake; cancel closed them all upstream: ${r.cancelledUpstreamClosed ? "yes" : "NO"}`,
    },
  ];
}
