// The call's Cancel and the call scope built on it, as plain modules: what an AbortSignal gave the
// router (abort once, with a reason, listeners in order, removal) still holds, the scope links the
// caller's cancel and the deadline to every attempt's signal, and that signal (a Cancel) is one
// undici.request honours. The end-to-end behaviour (a caller's cancel or deadline aborting the
// upstream) is in adapter-abort and resilience.
import { once } from "node:events";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import test from "ava";
import { Code, ConnectError } from "@connectrpc/connect";
import { request } from "undici";
import { Cancel, abortSignalOf } from "../../server/core/cancel.js";
import { openCallScope } from "../../server/routing/deadline.js";

test("cancel-aborts-once-with-its-first-reason: listeners run once, in order, and a later abort changes nothing", (t) => {
  const cancel = new Cancel();
  const heard: string[] = [];
  cancel.onAbort((reason) => heard.push(`a:${String(reason)}`));
  cancel.onAbort((reason) => heard.push(`b:${String(reason)}`));
  cancel.abort("first");
  cancel.abort("second");
  t.true(cancel.aborted);
  t.is(cancel.reason, "first");
  t.deepEqual(heard, ["a:first", "b:first"]);
});

test("cancel-listener-added-after-abort-runs-at-once", (t) => {
  const cancel = new Cancel();
  cancel.abort("gone");
  let heard: unknown;
  cancel.onAbort((reason) => (heard = reason));
  t.is(heard, "gone");
});

test("cancel-listener-removed-is-not-called", (t) => {
  const cancel = new Cancel();
  const heard: string[] = [];
  const removed = () => heard.push("removed");
  cancel.onAbort(removed);
  cancel.onAbort(() => heard.push("kept"));
  cancel.off(removed);
  cancel.off(() => undefined); // a listener never added: nothing happens
  cancel.abort("x");
  t.deepEqual(heard, ["kept"]);
});

test("cancel-following-a-signal-aborts-with-its-reason, also when it was aborted already", (t) => {
  const controller = new AbortController();
  const live = Cancel.following(controller.signal);
  t.false(live.aborted);
  controller.abort("caller left");
  t.is(live.reason, "caller left");
  t.is(Cancel.following(controller.signal).reason, "caller left");
});

test("cancel-to-signal-gives-an-abort-signal-with-the-same-reason", (t) => {
  const cancel = new Cancel();
  const signal = cancel.toSignal();
  t.false(signal.aborted);
  cancel.abort("stop");
  t.true(signal.aborted);
  t.is(signal.reason, "stop");
});

test("call-scope-passes-the-callers-cancel-to-every-attempt-signal", (t) => {
  const caller = new Cancel();
  const scope = openCallScope(caller, Date.now() + 60_000, 60_000);
  const first = scope.attempt();
  const second = scope.attempt();
  const reason = new ConnectError("the caller cancelled the call", Code.Canceled);
  caller.abort(reason);
  t.is(scope.cancel.reason, reason);
  t.is(first.signal.reason, reason);
  t.is(second.signal.reason, reason);
  t.is(scope.attempt().signal.reason, reason, "an attempt started after the cancel starts aborted");
  scope.dispose();
});

test("call-scope-aborts-its-attempts-at-the-deadline", async (t) => {
  const scope = openCallScope(new Cancel(), Date.now() + 20, 60_000);
  const attempt = scope.attempt();
  await new Promise<void>((resolve) => attempt.signal.addEventListener("abort", () => resolve(), { once: true }));
  t.true(scope.cancel.aborted);
  t.is((attempt.signal.reason as ConnectError).code, Code.DeadlineExceeded);
  scope.dispose();
});

test("disposed-call-scope-no-longer-listens-to-the-caller", (t) => {
  const caller = new Cancel();
  const scope = openCallScope(caller, Date.now() + 60_000, 60_000);
  const attempt = scope.attempt();
  scope.dispose();
  caller.abort("late");
  t.false(scope.cancel.aborted);
  t.false(attempt.signal.aborted);
});

test("cancel-event-target-shape: added listeners run once on abort, removed ones never, and one added after the abort is not called", (t) => {
  const cancel = new Cancel();
  const heard: string[] = [];
  const removed = () => heard.push("removed");
  cancel.addEventListener("abort", () => heard.push("kept"), { once: true });
  cancel.addEventListener("abort", removed);
  cancel.removeEventListener("abort", removed);
  cancel.abort("stop");
  cancel.abort("again");
  cancel.addEventListener("abort", () => heard.push("late"));
  t.deepEqual(heard, ["kept"]);
});

test("abort-signal-of-a-cancel-follows-it; of an abort-signal is that signal", (t) => {
  const cancel = new Cancel();
  const signal = abortSignalOf(cancel);
  t.true(signal instanceof AbortSignal);
  cancel.abort("stop");
  t.is(signal.reason, "stop");
  const native = new AbortController().signal;
  t.is(abortSignalOf(native), native);
});

test("attempt-cancel-is-an-undici-signal: undici.request takes it, and aborting it ends the request at once with its reason", async (t) => {
  // An upstream that takes the request and never answers.
  const server = createServer(() => undefined);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const arrived = once(server, "request") as Promise<[IncomingMessage]>;
  const cancel = new Cancel();
  const pending = request(`http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/chat/completions`, { method: "POST", body: "{}", signal: cancel as unknown as AbortSignal });
  const [incoming] = await arrived;
  const closed = once(incoming.socket, "close");
  const reason = new ConnectError("the caller cancelled the call", Code.Canceled);
  cancel.abort(reason);
  const error = await t.throwsAsync(pending);
  t.is(error, reason);
  await closed;
  t.pass("the upstream connection was closed");
});
