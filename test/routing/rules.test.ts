// Custom routing rules: residency, tiers, CEL, restrictions that leave nothing.
import test from "ava";
import { Code, ConnectError } from "@connectrpc/connect";
import { userText } from "../../clients/inference-client.js";
import { ConfigError, validateConfig } from "../../server/config/load.js";
import { hits, routingGateway, startUpstreams } from "../helpers/routing.js";

const ask = (metadata: Record<string, string> = {}, model = "chat") => ({ model, messages: [userText("Hi")], metadata });

async function setup(t: Parameters<typeof startUpstreams>[0]) {
  const up = await startUpstreams(t, ["us", "eu", "cheap", "onprem"]);
  const gw = await routingGateway(
    t,
    up,
    {
      chat: {
        targets: [
          { provider: "us", model: "gpt-4o", region: "us-east-1", priority: 1 },
          { provider: "eu", model: "gpt-4o", region: "eu-west-1", priority: 2 },
          { provider: "onprem", model: "llama-internal", region: "eu-central-1", internal: true, priority: 3 },
        ],
      },
      "chat-cheap": { targets: [{ provider: "cheap", model: "gpt-4o-mini" }] },
    },
    {
      rules: [
        { name: "eu-residency", when: { metadata: { residency: "eu" } }, then: { regions: ["eu-*"] } },
        { name: "free-tier", when: { alias: "chat", metadata: { tier: "free" } }, then: { alias: "chat-cheap" } },
        { name: "confidential", when: { cel: 'request.metadata["data"] == "confidential" && !request.has_images' }, then: { internal_only: true } },
        { name: "us-only", when: { metadata: { residency: "us-gov" } }, then: { regions: ["us-gov-*"] } },
      ],
    },
  );
  return { up, ...gw };
}

test("residency=eu only ever reaches targets tagged with an EU region", async (t) => {
  const { up, client } = await setup(t);
  up.eu.setProgram(() => ({ kind: "error", error: "server_error" }));
  for (let i = 0; i < 4; i++) {
    const res = await client.complete(ask({ residency: "eu" }));
    t.true(["eu-west-1", "eu-central-1"].includes(res.route?.provider === "eu" ? "eu-west-1" : "eu-central-1"));
    t.not(res.route?.provider, "us");
  }
  t.is(up.us.requests.length, 0, "even with the EU target failing, nothing went to the US");
  t.true(up.onprem.requests.length > 0, "the EU fallback served");
  t.is((await client.complete(ask())).route?.provider, "us", "without the metadata, normal priority applies");
});

test("tier=free goes to the chat-cheap alias", async (t) => {
  const { client, up } = await setup(t);
  const res = await client.complete(ask({ tier: "free" }));
  t.is(res.route?.alias, "chat-cheap");
  t.is(res.route?.provider, "cheap");
  t.deepEqual(hits(up), { us: 0, eu: 0, cheap: 1, onprem: 0 });
});

test("a CEL rule restricts to internal targets", async (t) => {
  const { client } = await setup(t);
  t.is((await client.complete(ask({ data: "confidential" }))).route?.provider, "onprem");
  t.is((await client.complete(ask({ data: "public" }))).route?.provider, "us", "a CEL rule that does not match changes nothing");
});

test("rules that leave no target → FAILED_PRECONDITION naming the rule", async (t) => {
  const { client, up } = await setup(t);
  const error = ConnectError.from(await t.throwsAsync(client.complete(ask({ residency: "us-gov" }))));
  t.is(error.code, Code.FailedPrecondition);
  t.regex(error.rawMessage, /rule "us-only" allows regions us-gov-\*/);
  t.deepEqual(hits(up), { us: 0, eu: 0, cheap: 0, onprem: 0 });
});

test("bad rules are config errors with their path", (t) => {
  const error = t.throws(
    () =>
      validateConfig(
        {
          providers: { p: { type: "openai", api_key: "sk-x-000000" } },
          models: { chat: { targets: [{ provider: "p", model: "m" }] } },
          rules: [
            { name: "r1", when: { cel: "request.metadata[" }, then: { alias: "nope" } },
            { name: "r2", then: { providers: ["q"] } },
          ],
        },
        "rules",
        {},
      ),
    { instanceOf: ConfigError },
  );
  const problems = (error as ConfigError).problems;
  t.true(problems.some((p) => p.startsWith("rules[0].when.cel:")));
  t.true(problems.includes('rules[0].then.alias: unknown alias "nope" (known: chat)'));
  t.true(problems.includes('rules[1].then.providers: unknown provider "q" (known: p)'));
});

test("a rule can restrict to providers and override the strategy", async (t) => {
  const up = await startUpstreams(t, ["a", "b", "c"]);
  const { client } = await routingGateway(
    t,
    up,
    {
      chat: {
        targets: [
          { provider: "a", model: "gpt-4o", priority: 1 },
          { provider: "b", model: "gpt-4o", priority: 2, weight: 1 },
          { provider: "c", model: "gpt-4o", priority: 3, weight: 1 },
        ],
      },
    },
    { rules: [{ name: "batch", when: { metadata: { lane: "batch" } }, then: { providers: ["b", "c"], strategy: "round-robin" } }] },
  );
  const served = [];
  for (let i = 0; i < 6; i++) served.push((await client.complete(ask({ lane: "batch" }))).route?.provider);
  t.deepEqual(served.sort(), ["b", "b", "b", "c", "c", "c"], "round-robin over b and c only");
  t.is((await client.complete(ask())).route?.provider, "a", "other calls keep the alias's priority strategy");
});
