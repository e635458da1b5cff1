// The operator dashboard in headless Chromium (Debian's, driven by playwright-core): after real
// traffic through the gateway, the page — signed in with the admin key — shows the same calls,
// errors and spend as AdminService.GetUsage (from the ledger), per model and per team, the targets'
// circuit states and the budgets as GetBudget reports them; it refreshes by itself when more traffic
// arrives. It is served by the gateway's own operator listener. A screenshot is saved under test-artifacts/.
import { mkdir } from "node:fs/promises";
import test from "ava";
import { chromium, type Page } from "playwright-core";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { AdminService, UsageDimension, type UsageTotals } from "../../gen/switchboard/v1/admin_pb.js";
import { createInferenceClient, userText } from "../../clients/inference-client.js";
import { usdFromNano } from "../../server/cli/table.js";
import { startOpenAIFake } from "../fakes/openai.js";
import { useFake } from "../helpers/fakes.js";
import { startTestGateway } from "../helpers/gateway.js";

const ADMIN_KEY = "admin-key-for-the-dashboard-test";
const SEARCH = "sk-dashboard-search-00001";
const ADS = "sk-dashboard-ads-000000001";
const CHROMIUM = "/usr/bin/chromium";

async function textOf(page: Page, selector: string): Promise<string> {
  return (await page.locator(selector).first().textContent())?.trim() ?? "";
}

/** The cells of the table row for one group (data-key), as the page shows them. */
async function rowOf(page: Page, table: string, key: string): Promise<string[]> {
  return page.locator(`#${table} tr[data-key="${key}"] td`).allTextContents();
}

const expectedCells = (t: UsageTotals | undefined) => [String(t?.calls ?? 0n), String(t?.errors ?? 0n), usdFromNano(t?.costNanoUsd ?? 0n)];

test("dashboard-in-chromium-matches-the-ledger and refreshes live", async (t) => {
  t.timeout(180_000);
  const fake = await useFake(t, () => startOpenAIFake());
  const provider = { type: "openai", base_url: `${fake.url}/v1`, api_key: "sk-upstream-0000000" };
  const gw = await startTestGateway(t, {
    auth: { admin_key: ADMIN_KEY },
    providers: { upstream: provider },
    models: {
      chat: { retry: { max_attempts: 1 }, targets: [{ provider: "upstream", model: "gpt-4o-mini" }] },
      big: { retry: { max_attempts: 1 }, targets: [{ provider: "upstream", model: "gpt-4o" }] },
    },
    teams: { search: { budget: { usd: 1, window: "month" } }, ads: {} },
    keys: [
      { name: "search-api", team: "search", secret: SEARCH },
      { name: "ads-api", team: "ads", secret: ADS },
    ],
  });
  const as = (apiKey: string) => createInferenceClient({ baseUrl: gw.baseUrl, apiKey, timeoutMs: 10_000 });
  const search = as(SEARCH);
  const ads = as(ADS);
  fake.enqueue(
    { kind: "reply", text: "a", usage: { input: 1200, output: 300 } },
    { kind: "reply", text: "b", usage: { input: 800, output: 200 } },
    { kind: "reply", text: "c", usage: { input: 5000, output: 1000 } },
    { kind: "reply", text: "d", usage: { input: 300, output: 50 } },
    { kind: "error", error: "bad_request" },
  );
  await search.complete({ model: "chat", messages: [userText("one")] });
  for await (const chunk of search.streamComplete({ model: "chat", messages: [userText("two")] })) void chunk;
  await search.complete({ model: "big", messages: [userText("three")] });
  await ads.complete({ model: "chat", messages: [userText("four")] });
  await t.throwsAsync(ads.complete({ model: "chat", messages: [userText("five")] }));

  t.truthy(gw.gateway.operatorAddress, "the operator listener is up");
  const origin = `http://${gw.gateway.operatorAddress}`;

  const adminClient = createClient(AdminService, createGrpcTransport({ baseUrl: gw.baseUrl }));
  const headers = { authorization: `Bearer ${ADMIN_KEY}` };
  const usage = async () => {
    const from = { seconds: BigInt(Math.floor((Date.now() - 86_400_000) / 1000)), nanos: 0 };
    const [overall, byModel, byTeam] = await Promise.all([
      adminClient.getUsage({ filter: { from } }, { headers }),
      adminClient.getUsage({ filter: { from }, groupBy: [UsageDimension.MODEL] }, { headers }),
      adminClient.getUsage({ filter: { from }, groupBy: [UsageDimension.TEAM] }, { headers }),
    ]);
    return { overall, byModel, byTeam };
  };
  const ledger = await usage();
  t.is(ledger.overall.totals?.calls, 5n, "the ledger has every call");
  t.is(ledger.overall.totals?.errors, 1n);

  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    chromiumSandbox: false,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  t.teardown(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1400, height: 1700 } });
  const pageErrors: string[] = [];
  page.on("pageerror", (error) => pageErrors.push(error.message));
  // Failed responses (401 for the wrong key) are expected; script errors are not.
  page.on("console", (message) => message.type() === "error" && !message.text().startsWith("Failed to load resource") && pageErrors.push(message.text()));

  await page.goto(`${origin}/dashboard?refresh=500`);
  t.true(await page.locator("#login").isVisible(), "the page asks for the admin key first");
  await page.fill("#admin-key", "not-the-admin-key-at-all");
  await page.click("#login button[type=submit]");
  await page.waitForFunction(() => (document.getElementById("login-error")?.textContent ?? "") !== "");
  t.regex(await textOf(page, "#login-error"), /admin key is not valid/);

  await page.fill("#admin-key", ADMIN_KEY);
  await page.click("#login button[type=submit]");
  await page.waitForFunction(() => Number(document.body.dataset.refreshes ?? "0") >= 1);
  t.regex(await textOf(page, "#status"), /every 0\.5 s/, "the refresh period from the address survives the redirect");
  t.is(await page.evaluate(() => sessionStorage.getItem("switchboard.adminKey")), ADMIN_KEY);

  const totals = ledger.overall.totals;
  t.is(await textOf(page, "#total-calls"), String(totals?.calls));
  t.is(await textOf(page, "#total-errors"), String(totals?.errors));
  t.is(await textOf(page, "#total-error-rate"), "20.0%");
  t.is(await textOf(page, "#total-cost"), usdFromNano(totals?.costNanoUsd ?? 0n));
  t.true((totals?.costNanoUsd ?? 0n) > 0n);

  t.is(ledger.byModel.rows.length, 2);
  for (const row of ledger.byModel.rows) {
    const cells = await rowOf(page, "by-model", row.model);
    t.deepEqual([cells[1], cells[2], cells[4]], expectedCells(row.totals), `model ${row.model}`);
    t.is(cells[7], `${row.totals?.latencyP50Ms} ms / ${row.totals?.latencyP95Ms} ms`);
  }
  t.deepEqual(ledger.byTeam.rows.map((r) => r.team).sort(), ["ads", "search"]);
  for (const row of ledger.byTeam.rows) {
    const cells = await rowOf(page, "by-team", row.team);
    t.deepEqual([cells[1], cells[2], cells[4]], expectedCells(row.totals), `team ${row.team}`);
  }
  t.deepEqual(await rowOf(page, "by-target", "upstream/gpt-4o-mini").then((c) => c.slice(0, 3)), ["upstream/gpt-4o-mini", "4", "25.0%"]);
  const circuit = await rowOf(page, "circuits", "big:upstream/gpt-4o");
  t.deepEqual(circuit.slice(0, 3), ["big", "upstream/gpt-4o", "CLOSED"]);
  const [budget] = (await adminClient.getBudget({ team: "search" }, { headers })).budgets;
  t.true((budget?.spentNanoUsd ?? 0n) > 0n);
  const used = `${(Number(((budget?.spentNanoUsd ?? 0n) * 1000n) / 1_000_000_000n) / 10).toFixed(1)}%`;
  t.deepEqual(await rowOf(page, "budgets", "team:search:month"), ["team search", "month", "1.000000000", usdFromNano(budget?.spentNanoUsd ?? 0n), "0.000000000", used]);
  t.is(await page.locator("#chart-model svg rect").count() > 0, true, "spend over time is drawn");

  // Live: one more call shows up without a reload.
  fake.enqueue({ kind: "reply", text: "e", usage: { input: 100, output: 10 } });
  await search.complete({ model: "big", messages: [userText("six")] });
  const after = await usage();
  t.is(after.overall.totals?.calls, 6n);
  await page.waitForFunction((expected) => document.getElementById("total-calls")?.textContent === expected, String(after.overall.totals?.calls));
  await page.waitForFunction((expected) => document.getElementById("total-cost")?.textContent === expected, usdFromNano(after.overall.totals?.costNanoUsd ?? 0n));

  await mkdir("test-artifacts", { recursive: true });
  await page.screenshot({ path: "test-artifacts/dashboard.png", fullPage: true });
  t.deepEqual(pageErrors, [], "no script errors in the page");
});

test("dashboard-rpc-needs-the-admin-key and other paths are left to the operator listener", async (t) => {
  const gw = await startTestGateway(t, {
    auth: { admin_key: ADMIN_KEY },
    providers: { upstream: { type: "openai", base_url: "http://127.0.0.1:9/v1", api_key: "sk-upstream-0000000" } },
    models: { chat: { targets: [{ provider: "upstream", model: "gpt-4o-mini" }] } },
  });
  const origin = `http://${gw.gateway.operatorAddress}`;
  const post = (path: string, authorization?: string) =>
    fetch(`${origin}${path}`, { method: "POST", headers: { "content-type": "application/json", ...(authorization ? { authorization } : {}) }, body: "{}" });

  for (const path of ["/dashboard/rpc/switchboard.v1.AdminService/GetUsage", "/dashboard/rpc/switchboard.v1.InferenceService/ListModels"]) {
    const anonymous = await post(path);
    t.is(anonymous.status, 401, path);
    const wrong = await post(path, "Bearer wrong-admin-key-000000");
    t.is(wrong.status, 401, path);
    t.is((await post(path, `Bearer ${ADMIN_KEY}`)).status, 200, path);
  }
  // Only the read-only calls are mounted: no key creation through the dashboard's door.
  const createKey = await post("/dashboard/rpc/switchboard.v1.AdminService/CreateKey", `Bearer ${ADMIN_KEY}`);
  t.is(createKey.status, 501);
  t.is(((await createKey.json()) as { code: string }).code, "unimplemented");
  t.is((await post("/dashboard/rpc/switchboard.v1.InferenceService/Complete", `Bearer ${ADMIN_KEY}`)).status, 404);

  const page = await fetch(`${origin}/dashboard/`);
  t.is(page.status, 200);
  t.regex(page.headers.get("content-security-policy") ?? "", /script-src 'self'/);
  t.regex(await page.text(), /<title>Switchboard dashboard<\/title>/);
  t.is((await fetch(`${origin}/dashboard?refresh=1000`, { redirect: "manual" })).headers.get("location"), "/dashboard/?refresh=1000");
  t.is((await fetch(`${origin}/dashboard/nope.js`)).status, 404);
  const metrics = await fetch(`${origin}/metrics`);
  t.is(metrics.status, 200, "a path outside /dashboard is the operator listener's own");
  t.regex(metrics.headers.get("content-type") ?? "", /version=0\.0\.4/);
});
