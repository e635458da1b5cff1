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
    test(`${row.name} · ${name} · not supported: ${reason}`, (t) => {
      t.true(reason.length > 10, "an unsupported scenario must say why");
    });
    return;
  }
  test(`${row.name} · ${name}`, async (t) => {
    const fake = await useFake(t, () => row.startFake());
    const models: Record<string, unknown> = { chat: { targets: [{ provider: "upstream", model: row.model }] } };
    if (row.embeddingModel) models.embed = { targets: [{ provider: "upstream", model: row.embeddingModel }] };
    const { client } = await startTestGateway(t, { providers: { upstream: row.providerConfig(fake) }, models });
    await SCENARIOS[name]({ t, row, fake, client });
  });
}

for (const row of ROWS) {
  for (const name of Object.keys(SCENARIOS) as ScenarioName[]) register(row, name);
}
