// The conformance table: every scenario × every adapter, through the gateway's public gRPC API
// over a real socket, against each provider's protocol-faithful fake. A scenario an adapter cannot
// support shows up as a passing test that names the reason, so the table has no silent holes.
// One test file per row (rows/*.test.ts → <row>.test.ts) lets ava spread rows over processes.
import test from "ava";
import { useFake } from "../helpers/fakes.js";
import { startTestGateway } from "../helpers/gateway.js";
import type { AdapterRow, ScenarioName } from "./adapter-row.js";
import { SCENARIOS } from "./scenarios.js";

// Scenarios that measure time run one at a time, before the rest of the file, so a busy process
// does not push a request past a short deadline before it even reaches the fake.
const TIMING: ReadonlySet<ScenarioName> = new Set(["deadline exceeded", "client cancel", "upstream closes mid-stream"]);

function register(row: AdapterRow, name: ScenarioName) {
  const reason = row.unsupported[name];
  if (reason !== undefined) {
    test(`${row.label ?? row.name} · ${name} · not supported: ${reason}`, (t) => {
      t.true(reason.length > 10, "an unsupported scenario must say why");
    });
    return;
  }
  const run = TIMING.has(name) ? test.serial : test;
  run(`${row.label ?? row.name} · ${name}`, async (t) => {
    const fake = await useFake(t, () => row.startFake());
    // One attempt per call: the table proves what each upstream answer maps to, not retries.
    const retry = { max_attempts: 1 };
    const models: Record<string, unknown> = { chat: { retry, targets: [{ provider: "upstream", model: row.model }] } };
    if (row.embeddingModel) models.embed = { retry, targets: [{ provider: "upstream", model: row.embeddingModel }] };
    const { client } = await startTestGateway(t, { providers: { upstream: row.providerConfig(fake) }, models });
    await SCENARIOS[name]({ t, row, fake, client });
  });
}

/** Registers every scenario for `row` in the calling test file. */
export function registerConformance(row: AdapterRow): void {
  for (const name of Object.keys(SCENARIOS) as ScenarioName[]) register(row, name);
}
