// Gateways in front of several fake OpenAI upstreams, for routing tests.
import type { ExecutionContext } from "ava";
import { startOpenAIFake } from "../fakes/openai.js";
import type { FakeUpstream } from "../fakes/server.js";
import { useFake } from "./fakes.js";
import { startTestGateway, type TestGateway } from "./gateway.js";

export type Upstreams = Record<string, FakeUpstream>;

/** One fake OpenAI upstream per name, each configured as a provider of that name. */
export async function startUpstreams(t: ExecutionContext, names: string[]): Promise<Upstreams> {
  const out: Upstreams = {};
  for (const name of names) out[name] = await useFake(t, () => startOpenAIFake());
  return out;
}

export function providersFor(upstreams: Upstreams): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(upstreams).map(([name, fake]) => [name, { type: "openai", base_url: `${fake.url}/v1`, api_key: `sk-test-${name}-000000` }]),
  );
}

export async function routingGateway(
  t: ExecutionContext,
  upstreams: Upstreams,
  models: Record<string, unknown>,
  extra: Record<string, unknown> = {},
): Promise<TestGateway> {
  return startTestGateway(t, { providers: providersFor(upstreams), models, ...extra });
}

/** How many requests each upstream received. */
export function hits(upstreams: Upstreams): Record<string, number> {
  return Object.fromEntries(Object.entries(upstreams).map(([name, fake]) => [name, fake.requests.length]));
}

/** Runs `count` calls with at most `parallel` in flight; returns how many succeeded. */
export async function runCalls(count: number, parallel: number, call: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  let ok = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      try {
        await call(i);
        ok++;
      } catch {
        // counted as a failure
      }
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return ok;
}
