// The conformance table: every scenario × every adapter, through the gateway's public gRPC API
// over a real socket, against each provider's protocol-faithful fake. A scenario an adapter cannot
// support shows up as a passing test that names the reason, so the table has no silent holes.
// One test file per row (rows/*.test.ts → <row>.test.ts) lets ava spread rows over processes.
import test, { type ExecutionContext } from "ava";
import { Code } from "@connectrpc/connect";
import { FinishReason } from "../../gen/switchboard/v1/inference_pb.js";
import { useFake } from "../helpers/fakes.js";
import { startTestGateway } from "../helpers/gateway.js";
import type { AdapterRow, ScenarioName, Unsupported } from "./adapter-row.js";
import { PROBES, SCENARIOS, expectCode, type ScenarioContext } from "./scenarios.js";

// Scenarios that measure time run one at a time, before the rest of the file, so a busy process
// does not push a request past a short deadline before it even reaches the fake.
const TIMING: ReadonlySet<ScenarioName> = new Set([
  "deadline exceeded",
  "client cancel",
  "upstream closes mid-stream",
  "stalled stream aborted",
]);

async function setup(t: ExecutionContext, row: AdapterRow): Promise<ScenarioContext> {
  const fake = await useFake(t, () => row.startFake());
  // One attempt per call: the table proves what each upstream answer maps to, not retries.
  const retry = { max_attempts: 1 };
  const models: Record<string, unknown> = {
    chat: { retry, targets: [{ provider: "upstream", model: row.model }] },
    // Rows without embeddings get the alias too, so the table proves how their embed call fails.
    embed: { retry, targets: [{ provider: "upstream", model: row.embeddingModel ?? row.model }] },
  };
  const { client } = await startTestGateway(t, { providers: { upstream: row.providerConfig(fake) }, models });
  return { t, row, fake, client };
}

/** An unsupported scenario is run: its call must end exactly the documented way. */
async function proveUnsupported(ctx: ScenarioContext, name: ScenarioName, { reason, outcome }: Unsupported) {
  ctx.t.true(reason.length > 10, "an unsupported scenario must say why");
  const probe = PROBES[name];
  if (!probe) return ctx.t.fail(`scenario "${name}" has no probe, so it cannot be listed as unsupported`);
  if ("code" in outcome) {
    const error = await expectCode(ctx, outcome.code, () => probe(ctx));
    ctx.t.regex(error.rawMessage, outcome.message);
  } else {
    ctx.t.is(FinishReason[await probe(ctx)], FinishReason[outcome.finishReason]);
  }
}

function register(row: AdapterRow, name: ScenarioName) {
  const unsupported = row.unsupported[name];
  const title = `${row.label ?? row.name} · ${name}`;
  if (unsupported !== undefined) {
    const outcome = "code" in unsupported.outcome ? Code[unsupported.outcome.code] : FinishReason[unsupported.outcome.finishReason];
    test(`${title} · not supported (${outcome}): ${unsupported.reason}`, async (t) => {
      await proveUnsupported(await setup(t, row), name, unsupported);
    });
    return;
  }
  const run = TIMING.has(name) ? test.serial : test;
  run(title, async (t) => {
    await SCENARIOS[name](await setup(t, row));
  });
}

/** Registers every scenario for `row` in the calling test file. */
export function registerConformance(row: AdapterRow): void {
  for (const name of Object.keys(SCENARIOS) as ScenarioName[]) register(row, name);
}
