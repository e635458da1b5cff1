// RPM and TPM token buckets through the admission entry point: exact under concurrency, all or
// nothing across key/team/alias, refunds, settling with the real usage, and the error details.
import test from "ava";
import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorInfoSchema, QuotaFailureSchema, RetryInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import type { Admission } from "../../server/policy/limits/admission.js";
import { limitScope } from "../../server/policy/limits/scopes.js";
import { estimate, refused, rig, tryAdmit } from "./support.js";

const noTokens = estimate(0);

function retryMs(error: ConnectError): number | undefined {
  const delay = error.findDetails(RetryInfoSchema)[0]?.retryDelay;
  return delay ? Number(delay.seconds) * 1000 + delay.nanos / 1_000_000 : undefined;
}

for (const mode of ["in-process", "async store"] as const) {
  test(`burst-of-200-against-rpm-60-admits-exactly-60 (${mode})`, async (t) => {
    const { admissions, clock } = rig({ async: mode === "async store" });
    const key = limitScope("key", "search-api", { rpm: 60 });
    const results = await Promise.all(Array.from({ length: 200 }, () => tryAdmit(admissions, { key, estimate: noTokens })));
    const errors = refused(results);
    t.is(results.length - errors.length, 60);
    t.is(errors.length, 140);
    for (const error of errors) {
      t.is(error.code, Code.ResourceExhausted);
      t.is(error.findDetails(ErrorInfoSchema)[0]?.reason, "RPM_LIMIT");
    }
    // 60 a minute refill one request a second, continuously.
    t.is(retryMs(errors[0]!), 1000);
    clock.advance(999);
    t.true((await tryAdmit(admissions, { key, estimate: noTokens })) instanceof ConnectError, "not yet a whole request");
    clock.advance(1);
    t.false((await tryAdmit(admissions, { key, estimate: noTokens })) instanceof ConnectError, "one request refilled");
    t.true((await tryAdmit(admissions, { key, estimate: noTokens })) instanceof ConnectError, "and only one");
  });

  test(`tpm-50-concurrent-admits-exactly-what-fits (${mode})`, async (t) => {
    const { admissions } = rig({ async: mode === "async store" });
    const team = limitScope("team", "search", { tpm: 10_000 });
    const results = await Promise.all(Array.from({ length: 50 }, () => tryAdmit(admissions, { team, estimate: estimate(900) })));
    const errors = refused(results);
    t.is(results.length - errors.length, 11, "11 × 900 = 9,900 fit in 10,000; a 12th does not");
    const error = errors[0]!;
    t.is(error.findDetails(ErrorInfoSchema)[0]?.reason, "TPM_LIMIT");
    // 800 tokens missing at 10,000 a minute = 4.8 s.
    t.is(retryMs(error), 4800);
  });
}

test("limits-all-or-nothing: a call refused by the team's TPM takes nothing from the key's RPM", async (t) => {
  const { admissions, limits, clock } = rig();
  const key = limitScope("key", "search-api", { rpm: 100 });
  const team = limitScope("team", "search", { tpm: 1000 });
  const alias = limitScope("alias", "chat", { rpm: 100 });
  t.false((await tryAdmit(admissions, { key, team, alias, estimate: estimate(600) })) instanceof ConnectError);
  const error = await tryAdmit(admissions, { key, team, alias, estimate: estimate(600) });
  t.true(error instanceof ConnectError);
  t.is(limits.level(key.rpm!, clock.now), 99, "the key's bucket holds what the one admitted call left");
  t.is(limits.level(alias.rpm!, clock.now), 99);
  t.is(limits.level(team.tpm!, clock.now), 400);
});

test("every-failed-limit-in-quota-failure: RetryInfo waits for the slowest, ErrorInfo names it", async (t) => {
  const { admissions } = rig();
  const key = limitScope("key", "search-api", { rpm: 1 });
  const team = limitScope("team", "search", { tpm: 600 });
  await admissions.admit({ key, team, estimate: estimate(600) });
  const error = await tryAdmit(admissions, { key, team, estimate: estimate(300) });
  if (!(error instanceof ConnectError)) return t.fail("admitted over both limits");
  const violations = error.findDetails(QuotaFailureSchema)[0]?.violations ?? [];
  t.deepEqual(
    violations.map((v) => [v.subject, v.quotaMetric, v.quotaValue]),
    [
      ["key:search-api", "switchboard/requests_per_minute", 1n],
      ["team:search", "switchboard/tokens_per_minute", 600n],
    ],
  );
  t.regex(violations[1]!.description, /this call needs about 300 tokens/);
  // RPM 1: 60 s for the next request; TPM 600: 30 s for 300 tokens. Retrying earlier cannot pass.
  t.is(retryMs(error), 60_000);
  const info = error.findDetails(ErrorInfoSchema)[0];
  t.is(info?.reason, "RPM_LIMIT");
  t.is(info?.domain, "switchboard");
  t.deepEqual(info?.metadata, { scope: "key", key: "search-api", limit: "1", retry_after_ms: "60000" });
  t.is(error.rawMessage, "RPM limit of key search-api (1 requests / minute) reached; retry in 60 s");
});

test("refund-when-rejected-before-upstream: neither the request nor its tokens count", async (t) => {
  const { admissions, limits, clock } = rig();
  const key = limitScope("key", "search-api", { rpm: 1, tpm: 1000 });
  const first = await admissions.admit({ key, estimate: estimate(800) });
  t.true((await tryAdmit(admissions, { key, estimate: estimate(800) })) instanceof ConnectError);
  await first.settle({ tokens: 0, costNanoUsd: 0n, reachedUpstream: false });
  t.is(limits.level(key.rpm!, clock.now), 1);
  t.is(limits.level(key.tpm!, clock.now), 1000);
  t.false((await tryAdmit(admissions, { key, estimate: estimate(800) })) instanceof ConnectError, "the next call runs at once");
});

test("settle-with-real-usage: refunds an overestimate, charges an underestimate and delays the next call", async (t) => {
  const { admissions, limits, clock } = rig();
  const key = limitScope("key", "search-api", { tpm: 1000 });
  const a = await admissions.admit({ key, estimate: estimate(600) });
  await a.settle({ tokens: 100, costNanoUsd: 0n, reachedUpstream: true });
  t.is(limits.level(key.tpm!, clock.now), 900);
  const b = await admissions.admit({ key, estimate: estimate(600) });
  await b.settle({ tokens: 1600, costNanoUsd: 0n, reachedUpstream: true });
  t.is(limits.level(key.tpm!, clock.now), -700, "an underestimate leaves the bucket in debt");
  const error = await tryAdmit(admissions, { key, estimate: estimate(100) });
  if (!(error instanceof ConnectError)) return t.fail("admitted while the bucket is in debt");
  t.is(retryMs(error), 48_000, "800 tokens at 1,000 a minute");
  clock.advance(48_000);
  t.false((await tryAdmit(admissions, { key, estimate: estimate(100) })) instanceof ConnectError);
});

test("settle-counts-once: a second settle changes nothing", async (t) => {
  const { admissions, limits, clock } = rig();
  const key = limitScope("key", "search-api", { rpm: 10 });
  const first = await admissions.admit({ key, estimate: noTokens });
  await admissions.admit({ key, estimate: noTokens });
  await first.settle({ tokens: 0, costNanoUsd: 0n, reachedUpstream: false });
  await first.settle({ tokens: 0, costNanoUsd: 0n, reachedUpstream: false });
  t.is(limits.level(key.rpm!, clock.now), 9, "refunded once, not twice");
  const other = await admissions.admit({ key, estimate: noTokens });
  await other.settle({ tokens: 0, costNanoUsd: 0n, reachedUpstream: true });
  await other.settle({ tokens: 0, costNanoUsd: 0n, reachedUpstream: false });
  t.is(limits.level(key.rpm!, clock.now), 8, "the late refund of a settled call is ignored");
});

test("call-larger-than-the-limit runs on a full bucket and leaves it in debt", async (t) => {
  const { admissions, limits, clock } = rig();
  const key = limitScope("key", "search-api", { tpm: 1000 });
  t.false((await tryAdmit(admissions, { key, estimate: estimate(5000) })) instanceof ConnectError);
  t.is(limits.level(key.tpm!, clock.now), -4000);
  const error = await tryAdmit(admissions, { key, estimate: estimate(5000) });
  if (!(error instanceof ConnectError)) return t.fail("admitted on an empty bucket");
  t.is(retryMs(error), 300_000, "it waits until the bucket is full again: 5,000 tokens at 1,000 a minute");
});

test("buckets refill continuously and never beyond capacity", async (t) => {
  const { admissions, limits, clock } = rig();
  const key = limitScope("key", "search-api", { tpm: 60_000 });
  await admissions.admit({ key, estimate: estimate(60_000) });
  t.is(limits.level(key.tpm!, clock.now), 0);
  clock.advance(250);
  t.is(limits.level(key.tpm!, clock.now), 250, "1,000 tokens a second");
  clock.advance(3_600_000);
  t.is(limits.level(key.tpm!, clock.now), 60_000);
});

test("no-limits-fast-path: nothing applies → a shared admission, synchronously", (t) => {
  const { admissions } = rig();
  let estimated = 0;
  const call = { key: limitScope("key", "open", {}), estimate: () => (estimated++, { tokens: 1, costNanoUsd: 0n }) };
  const first = admissions.admit(call);
  t.false(first instanceof Promise);
  t.is(admissions.admit(call), first);
  t.is(estimated, 0, "no estimate is computed when no TPM limit or budget applies");
  t.true(typeof (first as Admission).settle === "function");
});
