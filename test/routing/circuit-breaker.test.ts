// The circuit breaker as a plain module: admission tokens, the single half-open probe, and every
// way a probe can end. (The end-to-end behaviour through a gateway is in resilience/hardening.)
import test from "ava";
import { CircuitBreaker } from "../../server/routing/circuit-breaker.js";

const config = { failure_threshold: 2, window_ms: 1000, cooldown_ms: 100 };

function opened(now = 0): CircuitBreaker {
  const breaker = new CircuitBreaker(config);
  breaker.settle(breaker.admit(now)!, "failure", now);
  breaker.settle(breaker.admit(now)!, "failure", now);
  return breaker;
}

test("failures within the window open the circuit; older ones age out", (t) => {
  const breaker = new CircuitBreaker(config);
  breaker.settle(breaker.admit(0)!, "failure", 0);
  breaker.settle(breaker.admit(1500)!, "failure", 1500);
  t.is(breaker.circuit, "closed", "the first failure left the window");
  breaker.settle(breaker.admit(1600)!, "failure", 1600);
  t.is(breaker.circuit, "open");
  t.is(breaker.admit(1650), undefined, "an open circuit admits nothing during its cooldown");
  t.is(breaker.cooldownLeft(1650), 50);
});

test("half-open-probe-released-after-caller-error: a probe that ends neutral frees the slot for the next probe", (t) => {
  const breaker = opened();
  const probe = breaker.admit(200);
  t.truthy(probe?.probe);
  t.is(breaker.admit(200), undefined, "one probe at a time");
  breaker.settle(probe!, "neutral", 210); // e.g. the upstream said the request was invalid
  t.is(breaker.circuit, "half_open");
  t.truthy(breaker.admit(220)?.probe, "the next call may probe: the circuit is not wedged");
});

test("half-open-admits-one-probe-only: an attempt admitted while closed cannot free the probe slot", (t) => {
  const breaker = new CircuitBreaker(config);
  const early = breaker.admit(0)!; // admitted while closed, still in flight
  breaker.settle(breaker.admit(0)!, "failure", 0);
  breaker.settle(breaker.admit(0)!, "failure", 0);
  const probe = breaker.admit(200);
  t.truthy(probe?.probe);
  breaker.settle(early, "neutral", 210); // the early attempt is abandoned (cancel, lost hedge)
  t.is(breaker.admit(220), undefined, "still exactly one probe");
  breaker.settle(early, "failure", 230);
  t.is(breaker.circuit, "half_open", "a failure of a call admitted before the circuit opened decides nothing");
  breaker.settle(probe!, "success", 240);
  t.is(breaker.circuit, "closed");
});

test("a failed probe reopens the circuit for another cooldown; a successful one closes it", (t) => {
  const breaker = opened();
  breaker.settle(breaker.admit(100)!, "failure", 100);
  t.is(breaker.circuit, "open");
  t.is(breaker.admit(150), undefined);
  const probe = breaker.admit(200)!;
  breaker.settle(probe, "success", 210);
  t.is(breaker.circuit, "closed");
  t.false(breaker.admit(210)!.probe);
});
