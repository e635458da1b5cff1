// The dashboard's script: asks for the admin key (kept in sessionStorage), then polls AdminService
// and ListModels over Connect JSON on the same origin and renders totals, spend over time, the
// per-model / per-team / per-target tables, circuit states and budgets. Everything that comes from
// the server is put in the page as text, never as markup.
const KEY_ITEM = "switchboard.adminKey";
const params = new URLSearchParams(location.search);
const REFRESH_MS = Math.max(250, Number(params.get("refresh")) || 5000);
const RPC = new URL("rpc/", location.href);
const COLORS = ["#2e90fa", "#f79009", "#12b76a", "#9e77ed", "#f04438", "#0ba5ec", "#ee46bc", "#667085"];

const $ = (id) => document.getElementById(id);

class RpcError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

async function rpc(service, method, body) {
  const response = await fetch(new URL(`${service}/${method}`, RPC), {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "connect-protocol-version": "1",
      authorization: `Bearer ${sessionStorage.getItem(KEY_ITEM) ?? ""}`,
    },
    body: JSON.stringify(body),
  });
  const json = await response.json().catch(() => ({}));
  if (!response.ok) throw new RpcError(json.code ?? "unknown", json.message ?? `HTTP ${response.status}`);
  return json;
}

const admin = (method, body = {}) => rpc("switchboard.v1.AdminService", method, body);

/** Exact USD from nano-USD (an int64 as a JSON string): no floating point. */
function usd(nano) {
  const value = BigInt(nano ?? "0");
  const sign = value < 0n ? "-" : "";
  const abs = value < 0n ? -value : value;
  return `${sign}${abs / 1000000000n}.${String(abs % 1000000000n).padStart(9, "0")}`;
}

const int = (value) => Number(value ?? 0);
const percent = (errors, calls) => (int(calls) === 0 ? "0.0%" : `${((100 * int(errors)) / int(calls)).toFixed(1)}%`);
const ms = (value) => (int(value) === 0 ? "–" : `${Math.round(int(value))} ms`);
const pair = (a, b) => `${ms(a)} / ${ms(b)}`;

function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function fillTable(table, headers, rows) {
  const head = document.createElement("tr");
  headers.forEach((h, i) => {
    const th = document.createElement("th");
    th.textContent = h;
    if (i === 0) th.className = "text";
    head.append(th);
  });
  const body = rows.map((row) => {
    const tr = document.createElement("tr");
    tr.dataset.key = row.key;
    for (const value of row.cells) tr.append(typeof value === "string" ? cell(value) : cell(value.text, value.className));
    return tr;
  });
  if (body.length === 0) {
    const tr = document.createElement("tr");
    const td = cell("no calls in this window", "text");
    td.colSpan = headers.length;
    tr.append(td);
    body.push(tr);
  }
  table.replaceChildren(head, ...body);
}

const USAGE_HEADERS = ["calls", "errors", "error rate", "spend (USD)", "input tokens", "output tokens", "latency p50 / p95", "TTFT p50 / p95"];

function usageCells(totals = {}) {
  return [
    String(int(totals.calls)),
    String(int(totals.errors)),
    percent(totals.errors, totals.calls),
    usd(totals.costNanoUsd),
    String(int(totals.inputTokens)),
    String(int(totals.outputTokens)),
    pair(totals.latencyP50Ms, totals.latencyP95Ms),
    pair(totals.ttftP50Ms, totals.ttftP95Ms),
  ];
}

function renderTotals(totals = {}) {
  $("total-calls").textContent = String(int(totals.calls));
  $("total-errors").textContent = String(int(totals.errors));
  $("total-error-rate").textContent = percent(totals.errors, totals.calls);
  $("total-cost").textContent = usd(totals.costNanoUsd);
  $("total-latency").textContent = pair(totals.latencyP50Ms, totals.latencyP95Ms);
  $("total-ttft").textContent = pair(totals.ttftP50Ms, totals.ttftP95Ms);
}

const SVG = "http://www.w3.org/2000/svg";

function svgElement(name, attributes) {
  const element = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, String(value));
  return element;
}

/** Stacked bars of spend per hour, one colour per series (model or team). */
function renderChart(container, rows, seriesOf, fromMs, toMs) {
  const hour = 3600000;
  const start = Math.floor(fromMs / hour) * hour;
  const hours = Math.max(1, Math.ceil((toMs - start) / hour));
  const series = [...new Set(rows.map(seriesOf))].sort();
  const stacks = Array.from({ length: hours }, () => new Map());
  for (const row of rows) {
    const index = Math.floor((Date.parse(row.bucketStart) - start) / hour);
    if (index < 0 || index >= hours) continue;
    stacks[index].set(seriesOf(row), Number(BigInt(row.totals?.costNanoUsd ?? "0")));
  }
  const highest = Math.max(1, ...stacks.map((s) => [...s.values()].reduce((a, b) => a + b, 0)));
  const width = 1000;
  const height = 160;
  const barWidth = width / hours;
  const svg = svgElement("svg", { viewBox: `0 0 ${width} ${height + 20}`, role: "img" });
  stacks.forEach((stack, i) => {
    let y = height;
    series.forEach((name, s) => {
      const value = stack.get(name) ?? 0;
      if (value === 0) return;
      const barHeight = (value / highest) * height;
      y -= barHeight;
      const rect = svgElement("rect", { x: i * barWidth + 1, y, width: Math.max(1, barWidth - 2), height: barHeight, fill: COLORS[s % COLORS.length] });
      const title = svgElement("title", {});
      title.textContent = `${name}: $${usd(value)} (${new Date(start + i * hour).toISOString().slice(0, 13)}h)`;
      rect.append(title);
      svg.append(rect);
    });
  });
  svg.append(svgElement("line", { x1: 0, y1: height, x2: width, y2: height, stroke: "#98a2b3" }));
  const legend = document.createElement("div");
  legend.className = "legend";
  series.forEach((name, s) => {
    const item = document.createElement("span");
    const swatch = document.createElement("i");
    swatch.style.background = COLORS[s % COLORS.length];
    item.append(swatch, document.createTextNode(name || "(none)"));
    legend.append(item);
  });
  container.replaceChildren(svg, legend);
}

/** Every budget in force (team and key budgets), from one GetBudget call. */
async function budgetRows() {
  const response = await admin("GetBudget", {});
  return (response.budgets ?? []).map((b) => {
    const limit = BigInt(b.limitNanoUsd ?? "0");
    const spent = BigInt(b.spentNanoUsd ?? "0");
    const reserved = BigInt(b.reservedNanoUsd ?? "0");
    const used = limit === 0n ? "n/a" : `${(Number((spent * 1000n) / limit) / 10).toFixed(1)}%`;
    return { key: `${b.scope}:${b.name}:${b.window}`, cells: [`${b.scope} ${b.name}`, b.window, usd(limit), usd(spent), usd(reserved), used] };
  });
}

async function refresh() {
  const toMs = Date.now();
  const fromMs = toMs - Number($("window").value);
  const filter = { from: new Date(fromMs).toISOString() };
  const [overall, byModel, byTeam, byTarget, modelHours, teamHours, models, keys] = await Promise.all([
    admin("GetUsage", { filter }),
    admin("GetUsage", { filter, groupBy: ["USAGE_DIMENSION_MODEL"] }),
    admin("GetUsage", { filter, groupBy: ["USAGE_DIMENSION_TEAM"] }),
    admin("GetUsage", { filter, groupBy: ["USAGE_DIMENSION_PROVIDER", "USAGE_DIMENSION_MODEL"] }),
    admin("GetUsage", { filter, groupBy: ["USAGE_DIMENSION_MODEL"], bucket: "USAGE_BUCKET_HOUR" }),
    admin("GetUsage", { filter, groupBy: ["USAGE_DIMENSION_TEAM"], bucket: "USAGE_BUCKET_HOUR" }),
    rpc("switchboard.v1.InferenceService", "ListModels", {}),
    admin("ListKeys", {}),
  ]);
  renderTotals(overall.totals);
  fillTable($("by-model"), ["model", ...USAGE_HEADERS], (byModel.rows ?? []).map((r) => ({ key: r.model ?? "", cells: [r.model ?? "", ...usageCells(r.totals)] })));
  fillTable($("by-team"), ["team", ...USAGE_HEADERS], (byTeam.rows ?? []).map((r) => ({ key: r.team ?? "", cells: [r.team || "(no team)", ...usageCells(r.totals)] })));
  fillTable(
    $("by-target"),
    ["target", "calls", "error rate", "latency p50", "latency p95", "TTFT p50", "TTFT p95"],
    (byTarget.rows ?? []).map((r) => {
      const t = r.totals ?? {};
      return { key: `${r.provider}/${r.model}`, cells: [`${r.provider}/${r.model}`, String(int(t.calls)), percent(t.errors, t.calls), ms(t.latencyP50Ms), ms(t.latencyP95Ms), ms(t.ttftP50Ms), ms(t.ttftP95Ms)] };
    }),
  );
  renderChart($("chart-model"), modelHours.rows ?? [], (r) => r.model ?? "", fromMs, toMs);
  renderChart($("chart-team"), teamHours.rows ?? [], (r) => r.team ?? "", fromMs, toMs);
  const circuits = [];
  for (const alias of models.models ?? []) {
    for (const target of alias.targets ?? []) {
      const state = target.state ?? {};
      const circuit = (state.circuit ?? "CIRCUIT_UNSPECIFIED").replace(/^CIRCUIT_/, "");
      circuits.push({
        key: `${alias.name}:${target.provider}/${target.model}`,
        cells: [alias.name, `${target.provider}/${target.model}`, { text: circuit, className: `circuit-${circuit}` }, String(int(state.inFlight)), ms(state.latencyMs), String(int(state.successes)), String(int(state.failures))],
      });
    }
  }
  fillTable($("circuits"), ["alias", "target", "circuit", "in flight", "latency", "successes", "failures"], circuits);
  fillTable($("budgets"), ["budget", "window", "limit (USD)", "spent (USD)", "reserved (USD)", "used"], await budgetRows());
  $("status").textContent = `updated ${new Date().toLocaleTimeString()} · every ${REFRESH_MS / 1000} s`;
  document.body.dataset.refreshes = String(Number(document.body.dataset.refreshes ?? "0") + 1);
}

let timer;

function signedOut(message = "") {
  clearTimeout(timer);
  sessionStorage.removeItem(KEY_ITEM);
  $("board").hidden = true;
  $("sign-out").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = message;
  $("status").textContent = "not signed in";
}

async function loop() {
  try {
    await refresh();
  } catch (error) {
    if (error instanceof RpcError && error.code === "unauthenticated") return signedOut(error.message);
    $("status").textContent = `refresh failed: ${error.message} (retrying)`;
  }
  timer = setTimeout(loop, REFRESH_MS);
}

function signedIn() {
  $("login").hidden = true;
  $("board").hidden = false;
  $("sign-out").hidden = false;
  clearTimeout(timer);
  void loop();
}

$("login").addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.setItem(KEY_ITEM, $("admin-key").value.trim());
  $("admin-key").value = "";
  signedIn();
});
$("sign-out").addEventListener("click", () => signedOut());
$("window").addEventListener("change", () => sessionStorage.getItem(KEY_ITEM) && signedIn());
if (sessionStorage.getItem(KEY_ITEM)) signedIn();
