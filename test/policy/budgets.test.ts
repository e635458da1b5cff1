// Budgets through the admission entry point: upper bounds reserved atomically, settled to the exact
// cost, UTC day/month windows, seeding from the ledger, and the hard stop's error.
import test from "ava";
import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorInfoSchema, QuotaFailureSchema, RetryInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import type { Admission } from "../../server/policy/limits/admission.js";
import { limitScope, usdToNano } from "../../server/policy/limits/scopes.js";
import { estimate, ManualClock, refused, rig, tryAdmit, turn } from "./support.js";

const USD = 1_000_000_000n;
const cents = (n: number): bigint => BigInt(n) * 10_000_000n;

test("budget-20-concurrent-fits-5: committed never exceeds the budget, and calls are served", async (t) => {
  const { admissions, budgets, clock } = rig({ async: true });
  const team = limitScope("team", "search", { budget: { usd: 1, window: "month" } });
  const budget = team.budget!;
  let served = 0;
  let worst = 0n;
  const watch = (): void => {
    const spend = budgets.spend(budget, clock.now);
    const total = spend.committedNanoUsd + spend.reservedNanoUsd;
    if (total > worst) worst = total;
  };
  // Each call may cost up to 0.19 USD (5 fit in 1 USD, 6 do not) and really costs 0.12–0.19.
  const results = await Promise.all(
    Array.from({ length: 20 }, async (_, i) => {
      const admitted = await tryAdmit(admissions, { team, estimate: estimate(0, cents(19)) });
      watch();
      if (admitted instanceof ConnectError) return admitted;
      await turn();
      served++;
      await admitted.settle({ tokens: 0, costNanoUsd: cents(12 + (i % 8)), reachedUpstream: true });
      watch();
      return admitted;
    }),
  );
  const spend = budgets.spend(budget, clock.now);
  t.true(served >= 1);
  t.is(served, 5, "exactly the five whose bounds fit were admitted while all were in flight");
  t.true(worst <= budget.limitNanoUsd, `reserved + committed peaked at ${worst}`);
  t.true(spend.committedNanoUsd <= budget.limitNanoUsd);
  t.is(spend.reservedNanoUsd, 0n, "every reservation was released");
  for (const error of refused(results)) t.is(error.findDetails(ErrorInfoSchema)[0]?.reason, "BUDGET_EXHAUSTED");
});

test("budget-settles-to-exact-cost: the bound is released and the real cost committed", async (t) => {
  const { admissions, budgets, clock } = rig();
  const key = limitScope("key", "search-api", { budget: { usd: 5, window: "day" } });
  const admission = await admissions.admit({ key, estimate: estimate(0, 2n * USD) });
  t.deepEqual(
    [budgets.spend(key.budget!, clock.now).committedNanoUsd, budgets.spend(key.budget!, clock.now).reservedNanoUsd],
    [0n, 2n * USD],
  );
  await admission.settle({ tokens: 0, costNanoUsd: 123_456_789n, reachedUpstream: true });
  const spend = budgets.spend(key.budget!, clock.now);
  t.is(spend.committedNanoUsd, 123_456_789n);
  t.is(spend.reservedNanoUsd, 0n);
});

test("budget-refund-when-rejected-before-upstream: nothing is committed", async (t) => {
  const { admissions, budgets, clock } = rig();
  const key = limitScope("key", "search-api", { budget: { usd: 1, window: "day" } });
  const admission = await admissions.admit({ key, estimate: estimate(0, USD) });
  t.true((await tryAdmit(admissions, { key, estimate: estimate(0, 1n) })) instanceof ConnectError, "the bound holds the whole budget");
  await admission.settle({ tokens: 0, costNanoUsd: 999n, reachedUpstream: false });
  t.is(budgets.spend(key.budget!, clock.now).committedNanoUsd, 0n);
  t.false((await tryAdmit(admissions, { key, estimate: estimate(0, USD) })) instanceof ConnectError);
});

test("budget-hard-stop names the budget; QuotaFailure and ErrorInfo, no RetryInfo", async (t) => {
  const { admissions } = rig();
  const team = limitScope("team", "search", { budget: { usd: 50, window: "month" } });
  const first = await admissions.admit({ team, estimate: estimate(0, 49n * USD) });
  await first.settle({ tokens: 0, costNanoUsd: usdToNano(49.5), reachedUpstream: true });
  const error = await tryAdmit(admissions, { team, estimate: estimate(0, usdToNano(0.6)) });
  if (!(error instanceof ConnectError)) return t.fail("admitted a call that could overspend");
  t.is(error.code, Code.ResourceExhausted);
  t.is(
    error.rawMessage,
    "budget of team search (50 USD / month) is exhausted: 49.5 USD spent, 0 USD reserved by calls in flight, " +
      "this call may cost up to 0.6 USD; it renews at 2027-01-01T00:00:00.000Z",
  );
  t.deepEqual(error.findDetails(RetryInfoSchema), [], "waiting for the month to end is no retry");
  const info = error.findDetails(ErrorInfoSchema)[0];
  t.is(info?.reason, "BUDGET_EXHAUSTED");
  t.deepEqual(info?.metadata, { scope: "team", team: "search", limit_usd: "50", window: "month", resets_at: "2027-01-01T00:00:00.000Z" });
  const violation = error.findDetails(QuotaFailureSchema)[0]?.violations[0];
  t.is(violation?.subject, "team:search");
  t.is(violation?.quotaValue, 50n * USD);
  t.is(violation?.description, "budget of team search (50 USD / month) is exhausted");
  t.false((await tryAdmit(admissions, { team, estimate: estimate(0, usdToNano(0.5)) })) instanceof ConnectError, "a call that fits still runs");
});

test("budget-spent-in-full-admits-nothing, not even a call bounded at 0 (an unpriced target)", async (t) => {
  const { admissions } = rig();
  const key = limitScope("key", "search-api", { budget: { usd: 1, window: "day" } });
  t.false((await tryAdmit(admissions, { key, estimate: estimate(0, 0n) })) instanceof ConnectError, "0-bound call on a fresh budget");
  const a = await admissions.admit({ key, estimate: estimate(0, USD) });
  await a.settle({ tokens: 0, costNanoUsd: USD, reachedUpstream: true });
  t.true((await tryAdmit(admissions, { key, estimate: estimate(0, 0n) })) instanceof ConnectError);
});

test("budget-and-limits-all-or-nothing: a rate-limited call releases its budget reservation", async (t) => {
  const { admissions, budgets, limits, clock } = rig({ async: true });
  const key = limitScope("key", "search-api", { rpm: 1, budget: { usd: 1, window: "day" } });
  await admissions.admit({ key, estimate: estimate(0, cents(10)) });
  const error = await tryAdmit(admissions, { key, estimate: estimate(0, cents(10)) });
  t.is((error as ConnectError).findDetails(ErrorInfoSchema)[0]?.reason, "RPM_LIMIT");
  t.is(budgets.spend(key.budget!, clock.now).reservedNanoUsd, cents(10), "only the admitted call's bound is held");
  // And the other way round: a refused budget takes no request from the bucket.
  const other = limitScope("key", "other", { rpm: 5, budget: { usd: 0.05, window: "day" } });
  t.true((await tryAdmit(admissions, { key: other, estimate: estimate(0, cents(10)) })) instanceof ConnectError);
  t.is(limits.level(other.rpm!, clock.now), 5);
});

test("budget-rolls-over-at-utc-midnight (day) and at the month's start (month)", async (t) => {
  const clock = new ManualClock("2026-12-31T23:59:59.999Z");
  const { admissions, budgets } = rig({ clock });
  const key = limitScope("key", "search-api", { budget: { usd: 1, window: "day" } });
  const team = limitScope("team", "search", { budget: { usd: 1, window: "month" } });
  const spendAll = async (): Promise<void> => {
    const a = await admissions.admit({ key, team, estimate: estimate(0, USD) });
    await a.settle({ tokens: 0, costNanoUsd: USD, reachedUpstream: true });
  };
  await spendAll();
  t.true((await tryAdmit(admissions, { key, estimate: estimate(0, 1n) })) instanceof ConnectError);
  t.true((await tryAdmit(admissions, { team, estimate: estimate(0, 1n) })) instanceof ConnectError);
  clock.set("2027-01-01T00:00:00.000Z");
  t.false((await tryAdmit(admissions, { key, estimate: estimate(0, 1n) })) instanceof ConnectError, "a new day");
  t.false((await tryAdmit(admissions, { team, estimate: estimate(0, 1n) })) instanceof ConnectError, "a new month");
  t.is(budgets.spend(team.budget!, clock.now).windowStart, Date.parse("2027-01-01T00:00:00.000Z"));

  // Within a month, midnight renews the daily budget only.
  clock.set("2027-01-15T23:00:00.000Z");
  const spent = limitScope("team", "spent", { budget: { usd: 1, window: "month" } });
  const daily = limitScope("key", "daily", { budget: { usd: 1, window: "day" } });
  const a = await admissions.admit({ key: daily, team: spent, estimate: estimate(0, USD) });
  await a.settle({ tokens: 0, costNanoUsd: USD, reachedUpstream: true });
  clock.set("2027-01-16T00:00:00.000Z");
  t.false((await tryAdmit(admissions, { key: daily, estimate: estimate(0, 1n) })) instanceof ConnectError);
  t.true((await tryAdmit(admissions, { team: spent, estimate: estimate(0, 1n) })) instanceof ConnectError);
  // February has 28 days in 2027: the month ends on March 1st.
  clock.set("2027-02-28T23:59:59.999Z");
  t.is(budgets.spend(spent.budget!, clock.now).windowEnd, Date.parse("2027-03-01T00:00:00.000Z"));
});

test("budget-call-across-midnight is charged to the window it was admitted in", async (t) => {
  const clock = new ManualClock("2026-12-15T23:59:59.000Z");
  const { admissions, budgets } = rig({ clock });
  const key = limitScope("key", "search-api", { budget: { usd: 1, window: "day" } });
  const admission: Admission = await admissions.admit({ key, estimate: estimate(0, cents(50)) });
  clock.set("2026-12-16T00:00:01.000Z");
  await admission.settle({ tokens: 0, costNanoUsd: cents(40), reachedUpstream: true });
  const spend = budgets.spend(key.budget!, clock.now);
  t.deepEqual([spend.committedNanoUsd, spend.reservedNanoUsd], [0n, 0n], "the new day starts clean");
});

test("budget-clock-stepping-back keeps the current window's spend", async (t) => {
  const clock = new ManualClock("2026-12-16T00:00:05.000Z");
  const { admissions, budgets } = rig({ clock });
  const key = limitScope("key", "search-api", { budget: { usd: 1, window: "day" } });
  const a = await admissions.admit({ key, estimate: estimate(0, cents(50)) });
  await a.settle({ tokens: 0, costNanoUsd: cents(50), reachedUpstream: true });
  clock.set("2026-12-15T23:59:59.000Z");
  t.is(budgets.spend(key.budget!, clock.now).committedNanoUsd, cents(50));
});

test("budget-seeded-from-the-ledger: a restart does not reset spend; older windows are ignored", async (t) => {
  const { admissions, budgets, clock } = rig();
  const team = limitScope("team", "search", { budget: { usd: 50, window: "month" } });
  const key = limitScope("key", "search-api", { budget: { usd: 5, window: "day" } });
  budgets.seed([
    { scope: "team", name: "search", window: "month", windowStart: Date.parse("2026-12-01T00:00:00Z"), spentNanoUsd: usdToNano(49.5) },
    { scope: "key", name: "search-api", window: "day", windowStart: Date.parse("2026-12-14T00:00:00Z"), spentNanoUsd: 5n * USD },
  ]);
  t.true((await tryAdmit(admissions, { team, estimate: estimate(0, usdToNano(0.6)) })) instanceof ConnectError);
  t.false((await tryAdmit(admissions, { team, estimate: estimate(0, usdToNano(0.4)) })) instanceof ConnectError);
  t.is(budgets.spend(key.budget!, clock.now).committedNanoUsd, 0n, "yesterday's spend is not today's");
  t.throws(() => budgets.seed([{ scope: "key", name: "x", window: "day", windowStart: Date.parse("2026-12-14T01:00:00Z"), spentNanoUsd: 1n }]), {
    message: /is not the start of a day/,
  });
});
