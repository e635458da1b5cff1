// Each strategy's choice and distribution, through the gateway over a real socket.
import test from "ava";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { userText } from "../../clients/inference-client.js";
import { hits, routingGateway, runCalls, startUpstreams } from "../helpers/routing.js";

const ask = (text = "Hi") => ({ model: "chat", messages: [userText(text)] });
const target = (provider: string, extra: Record<string, unknown> = {}) => ({ provider, model: "gpt-4o-mini", ...extra });

test("priority: the lowest priority number serves while it is healthy", async (t) => {
  const up = await startUpstreams(t, ["a", "b"]);
  const { client } = await routingGateway(t, up, {
    chat: { strategy: "priority", targets: [target("b", { priority: 2 }), target("a", { priority: 1 })] },
  });
  for (let i = 0; i < 5; i++) t.is((await client.complete(ask())).route?.provider, "a");
  t.deepEqual(hits(up), { a: 5, b: 0 });
});

test("the article's JSON policy file sets the priorities", async (t) => {
  const up = await startUpstreams(t, ["openai", "anthropic"]);
  const dir = await mkdtemp(join(tmpdir(), "sb-policy-"));
  const policy = join(dir, "routing.json");
  await writeFile(policy, JSON.stringify({ routing: [{ model: "gpt-4o", priority: 2 }, { model: "claude-3.5-sonnet", priority: 1 }] }));
  const { client } = await routingGateway(t, up, {
    chat: {
      policy_file: policy,
      targets: [
        { provider: "openai", model: "gpt-4o" },
        { provider: "anthropic", model: "claude-3-5-sonnet-20241022", name: "claude-3.5-sonnet" },
      ],
    },
  });
  t.is((await client.complete(ask())).route?.provider, "anthropic");
  up.anthropic.enqueue({ kind: "error", error: "server_error" }, { kind: "error", error: "server_error" });
  const fallback = await client.complete(ask());
  t.is(fallback.route?.provider, "openai", "priority 2 is the fallback");
  t.deepEqual(
    fallback.route?.attemptLog.map((a) => `${a.provider}:${a.outcome}`),
    ["anthropic:UNAVAILABLE", "anthropic:UNAVAILABLE", "openai:OK"],
  );
});

test("round-robin: exact proportions by weight", async (t) => {
  const up = await startUpstreams(t, ["a", "b", "c"]);
  const { client } = await routingGateway(t, up, {
    chat: { strategy: "round-robin", targets: [target("a", { weight: 3 }), target("b", { weight: 1 }), target("c", { weight: 0 })] },
  });
  for (let i = 0; i < 40; i++) await client.complete(ask());
  t.deepEqual(hits(up), { a: 30, b: 10, c: 0 });
});

test("weighted: the observed split over 600 calls matches 3:1 within ±6 points", async (t) => {
  const up = await startUpstreams(t, ["a", "b"]);
  const { client } = await routingGateway(t, up, {
    chat: { strategy: "weighted", targets: [target("a", { weight: 3 }), target("b", { weight: 1 })] },
  });
  const ok = await runCalls(600, 20, () => client.complete(ask()));
  t.is(ok, 600);
  const share = up.a.requests.length / 600;
  t.true(Math.abs(share - 0.75) <= 0.06, `a got ${(share * 100).toFixed(1)} % (expected 75 % ± 6)`);
});

test("least-busy: a call goes to the target with fewer calls in flight", async (t) => {
  const up = await startUpstreams(t, ["a", "b"]);
  const { client } = await routingGateway(t, up, {
    chat: { strategy: "least-busy", targets: [target("a"), target("b")] },
  });
  up.a.enqueue({ kind: "reply", text: "slow", delayMs: 600 });
  const slow = client.complete(ask("slow"));
  while (up.a.openRequests() === 0) await new Promise((r) => setTimeout(r, 5));
  const quick = await client.complete(ask("quick"));
  t.is(quick.route?.provider, "b");
  t.is((await slow).route?.provider, "a");
});

test("latency: the faster target wins; exploration notices when the slow one recovers", async (t) => {
  const up = await startUpstreams(t, ["slow", "fast"]);
  up.slow.setProgram(() => ({ kind: "reply", text: "slow", delayMs: 120 }));
  const { client } = await routingGateway(t, up, {
    chat: { strategy: "latency", exploration: 0.3, targets: [target("slow"), target("fast")] },
  });
  for (let i = 0; i < 20; i++) await client.complete(ask());
  const before = hits(up);
  for (let i = 0; i < 20; i++) await client.complete(ask());
  const after = hits(up);
  const fastShare = (after.fast - before.fast) / 20;
  t.true(fastShare >= 0.5, `the fast target served ${fastShare * 100} % once measured`);
  t.true(after.slow > 1, "exploration still probes the slow target");

  up.slow.setProgram(undefined); // recovered: now as fast as the other
  up.fast.setProgram(() => ({ kind: "reply", text: "now slow", delayMs: 120 }));
  for (let i = 0; i < 30; i++) await client.complete(ask());
  const recovered = hits(up);
  for (let i = 0; i < 20; i++) await client.complete(ask());
  const end = hits(up);
  const state = (await client.listModels({})).models[0].targets.map((x) => `${x.provider}=${x.state?.latencyMs.toFixed(0)}ms`);
  t.true(end.slow - recovered.slow >= 12, `after recovery the old slow target is preferred again (${state.join(", ")})`);
});

test("cost: the cheapest target for the request is chosen, and the cost is exact", async (t) => {
  const up = await startUpstreams(t, ["premium", "budget"]);
  const { client } = await routingGateway(
    t,
    up,
    {
      chat: {
        strategy: "cost",
        targets: [
          { provider: "premium", model: "gpt-4o", priority: 1 },
          { provider: "budget", model: "house-model", priority: 2 },
        ],
      },
    },
    { prices: { "house-model": { input: 0.05, output: 0.2, cached_input: 0.01 } } },
  );
  up.budget.enqueue({ kind: "reply", text: "cheap", usage: { input: 1234, output: 567, cached: 100 } });
  const res = await client.complete({ ...ask(), generation: { maxOutputTokens: 500 } });
  t.is(res.route?.provider, "budget");
  // Prices are nano-USD per million tokens: 0.05 $/M = 50,000,000. 1134 × 0.05 + 100 × 0.01 + 567 × 0.2 µ$.
  const expected = (1134n * 50_000_000n + 100n * 10_000_000n + 567n * 200_000_000n + 500_000n) / 1_000_000n;
  t.is(res.usage?.costNanoUsd, expected);
  t.is(expected, 171_100n);
});
