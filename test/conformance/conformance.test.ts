// The conformance table: every scenario × every adapter, through the gateway's public gRPC API
// over a real socket, against each provider's protocol-faithful fake. A scenario an adapter cannot
// support shows up as a passing test that names the reason, so the table has no silent holes.
import test from "ava";
import { useFake } from "../helpers/fakes.js";
import { startTestGateway } from "../helpers/gateway.js";
import type { AdapterRow, ScenarioName } from "./adapter-row.js";
import { ROWS } from "./rows/index.js";
import { SCENARIOS } from "./scenarios.js";

function register(row: AdapterRow, name: ScenarioName) {
  const reason = row.unsupported[name];
  if (reason !== undefined) {
    test(`${row.label ?? row.name} · ${name} · not supported: ${reason}`, (t) => {
      t.true(reason.length > 10, "an unsupported scenario must say why");
    });
    return;
  }
  test(`${row.label ?? row.name} · ${name}`, async (t) => {
    const fake = await useFake(t, () => row.startFake());
    // One attempt per call: the table proves what each upstream answer maps to, not retries.
    const retry = { max_attempts: 1 };
    const models: Record<string, unknown> = { chat: { retry, targets: [{ provider: "upstream", model: row.model }] } };
    if (row.embeddingModel) models.embed = { retry, targets: [{ provider: "upstream", model: row.embeddingModel }] };
    const { client } = await startTestGateway(t, { providers: { upstream: row.providerConfig(fake) }, models });
    await SCENARIOS[name]({ t, row, fake, client });
  });
}

for (const row of ROWS) {
  for (const name of Object.keys(SCENARIOS) as ScenarioName[]) register(row, name);
}
