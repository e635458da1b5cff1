// Starts a fake upstream for a test and closes it when the test ends.
import type { ExecutionContext } from "ava";
import type { FakeUpstream } from "../fakes/server.js";

export async function useFake(t: ExecutionContext, start: () => Promise<FakeUpstream>): Promise<FakeUpstream> {
  const fake = await start();
  t.teardown(() => fake.close());
  return fake;
}
