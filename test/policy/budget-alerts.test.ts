// Soft budget alerts against a real HTTP webhook receiver on 127.0.0.1: each fraction fires once
// per window, a 500 is retried, a restart with the same AlertLog does not fire again, and no
// webhook credential reaches a log line.
import test from "ava";
import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Admissions } from "../../server/policy/limits/admission.js";
import { BudgetAlerts, InMemoryAlertLog, type AlertLogger } from "../../server/policy/limits/budget-alerts.js";
import { InProcessBudgetStore } from "../../server/policy/limits/budget-store.js";
import { InProcessLimitStore } from "../../server/policy/limits/limit-store.js";
import { limitScope, type LimitScope } from "../../server/policy/limits/scopes.js";
import { estimate, ManualClock } from "./support.js";

type Receiver = { server: Server; url: string; bodies: Record<string, unknown>[]; statuses: number[] };

/** A webhook receiver answering the given statuses in turn (then 200), recording each body it got. */
async function receiver(statuses: number[] = []): Promise<Receiver> {
  const bodies: Record<string, unknown>[] = [];
  const answered: number[] = [];
  const server = createServer((request, response) => {
    let text = "";
    request.setEncoding("utf8");
    request.on("data", (chunk: string) => (text += chunk));
    request.on("end", () => {
      bodies.push(JSON.parse(text) as Record<string, unknown>);
      const status = statuses.shift() ?? 200;
      answered.push(status);
      response.writeHead(status).end();
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://127.0.0.1:${port}/hooks/T0001/s3cr3t-token`, bodies, statuses: answered };
}

function recordingLogger(): AlertLogger & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    warn: (fields, message) => lines.push(`warn ${message} ${JSON.stringify(fields)}`),
    error: (fields, message) => lines.push(`error ${message} ${JSON.stringify(fields)}`),
  };
}

const CENT = 10_000_000n;

function setup(log: InMemoryAlertLog, logger: AlertLogger, budgets = new InProcessBudgetStore()) {
  const clock = new ManualClock();
  const alerts = new BudgetAlerts({ log, logger, initialBackoffMs: 5, attempts: 3, clock: clock.read });
  const admissions = new Admissions({ limits: new InProcessLimitStore(), budgets, alerts, clock: clock.read });
  const spend = async (team: LimitScope, cents: bigint): Promise<void> => {
    const admission = await admissions.admit({ team, estimate: estimate(0, cents * CENT) });
    await admission.settle({ tokens: 0, costNanoUsd: cents * CENT, reachedUpstream: true });
  };
  return { alerts, admissions, spend, budgets };
}

test("budget-alert-fires-once-per-fraction, retried after a first 500", async (t) => {
  const hook = await receiver([500]);
  t.teardown(() => hook.server.close());
  const logger = recordingLogger();
  const { alerts, spend } = setup(new InMemoryAlertLog(), logger);
  const team = limitScope("team", "search", { budget: { usd: 1, window: "month", alerts: [0.5, 0.8, 1.0], webhook: hook.url } });

  await spend(team, 30n);
  await alerts.idle();
  t.is(hook.bodies.length, 0, "30 % crosses nothing");
  // Two settles at once both see 60 %: still one 50 % alert.
  await Promise.all([spend(team, 15n), spend(team, 15n)]);
  await alerts.idle();
  t.deepEqual(hook.statuses, [500, 200], "the 50 % alert was delivered on its second attempt");
  t.deepEqual(
    hook.bodies.map((b) => b.fraction),
    [0.5, 0.5],
  );
  await spend(team, 25n); // 85 %
  await spend(team, 15n); // 100 %
  await alerts.idle();
  t.deepEqual(
    hook.bodies.map((b) => b.fraction),
    [0.5, 0.5, 0.8, 1],
  );
  t.like(hook.bodies[3], {
    type: "switchboard.budget_alert",
    budget: "budget of team search (1 USD / month)",
    scope: "team",
    name: "search",
    window: "month",
    window_start: "2026-12-01T00:00:00.000Z",
    window_end: "2027-01-01T00:00:00.000Z",
    limit_nano_usd: "1000000000",
    spent_nano_usd: "1000000000",
    spent_usd: "1",
  });
  t.is(logger.lines.filter((l) => l.startsWith("warn")).length, 3, "each alert logged once");
  t.regex(logger.lines[0]!, /budget of team search \(1 USD \/ month\) has reached 50 %/);
});

test("budget-alert-remembered-across-restart: the same AlertLog keeps a fraction from firing again", async (t) => {
  const hook = await receiver();
  t.teardown(() => hook.server.close());
  const log = new InMemoryAlertLog();
  const team = limitScope("team", "search", { budget: { usd: 1, window: "month", alerts: [0.5, 0.8], webhook: hook.url } });
  const before = setup(log, recordingLogger());
  await before.spend(team, 60n);
  await before.alerts.idle();
  t.is(hook.bodies.length, 1);

  // A restart: new stores and alerts, seeded from the ledger, with the persisted log.
  const budgets = new InProcessBudgetStore();
  budgets.seed([{ scope: "team", name: "search", window: "month", windowStart: Date.parse("2026-12-01T00:00:00Z"), spentNanoUsd: 60n * CENT }]);
  const after = setup(log, recordingLogger(), budgets);
  await after.spend(team, 10n); // 70 %: still past 50 %, which was sent before the restart
  await after.alerts.idle();
  t.is(hook.bodies.length, 1);
  await after.spend(team, 10n); // 80 %
  await after.alerts.idle();
  t.deepEqual(
    hook.bodies.map((b) => b.fraction),
    [0.5, 0.8],
  );
});

test("budget-alert-webhook-gives-up after bounded attempts, logging no credential", async (t) => {
  const hook = await receiver([503, 503, 503, 503]);
  t.teardown(() => hook.server.close());
  const logger = recordingLogger();
  const { alerts, spend } = setup(new InMemoryAlertLog(), logger);
  const key = limitScope("team", "search", { budget: { usd: 1, window: "day", alerts: [0.5], webhook: hook.url } });
  await spend(key, 50n);
  await alerts.idle();
  t.is(hook.bodies.length, 3, "three attempts, no more");
  const failure = logger.lines.find((l) => l.startsWith("error"));
  t.truthy(failure);
  t.regex(failure!, /HTTP 503/);
  t.regex(failure!, /http:\/\/127\.0\.0\.1:\d+/);
  t.false(logger.lines.some((l) => l.includes("s3cr3t")), "the webhook's path is its credential");
});

test("budget-alert-once-under-concurrent-settles: two checks of the same crossing before either delivery ran", async (t) => {
  const hook = await receiver();
  t.teardown(() => hook.server.close());
  const { alerts } = setup(new InMemoryAlertLog(), recordingLogger());
  const budget = limitScope("team", "search", { budget: { usd: 1, window: "day", alerts: [0.5], webhook: hook.url } }).budget!;
  const spend = { committedNanoUsd: 70n * CENT, reservedNanoUsd: 0n, windowStart: Date.parse("2026-12-15T00:00:00Z"), windowEnd: Date.parse("2026-12-16T00:00:00Z") };
  alerts.check(budget, spend);
  alerts.check(budget, spend);
  await alerts.idle();
  t.is(hook.bodies.length, 1);
  // The next day is a new window: the same fraction fires again there.
  alerts.check(budget, { ...spend, windowStart: spend.windowEnd, windowEnd: spend.windowEnd + 86_400_000 });
  await alerts.idle();
  t.deepEqual(
    hook.bodies.map((b) => b.window_start),
    ["2026-12-15T00:00:00.000Z", "2026-12-16T00:00:00.000Z"],
  );
});

test("budget-alert-not-retried-on-a-4xx: the receiver refused it", async (t) => {
  const hook = await receiver([400]);
  t.teardown(() => hook.server.close());
  const { alerts, spend } = setup(new InMemoryAlertLog(), recordingLogger());
  const team = limitScope("team", "search", { budget: { usd: 1, window: "day", alerts: [0.5], webhook: hook.url } });
  await spend(team, 50n);
  await alerts.idle();
  t.deepEqual(hook.statuses, [400]);
});
