// A process-wide environment variable set for one test and put back as it was at its teardown
// (tests that use it run serially in their file).
import type { ExecutionContext } from "ava";

export function setEnvForTest(t: ExecutionContext, name: string, value: string): void {
  const previous = process.env[name];
  process.env[name] = value;
  t.teardown(() => {
    if (previous === undefined) delete process.env[name];
    else process.env[name] = previous;
  });
}
