// A worker thread's own scheduling priority. Posting work wakes a thread, and Linux tends to run a
// woken thread on the waker's core at once, preempting the event loop; at a lower priority it waits
// for, or moves to, a core with room (bench/RESULTS.md, the writer thread).
import { readlinkSync } from "node:fs";
import { setPriority } from "node:os";

/**
 * On Linux a priority set by thread id applies to that thread alone. Elsewhere (no /proc), or where
 * a sandbox refuses it, the thread keeps the process's priority and works the same, only less politely.
 */
export function lowerThisThreadsPriority(nice: number): void {
  try {
    const threadId = Number(readlinkSync("/proc/thread-self").split("/").pop());
    if (Number.isInteger(threadId) && threadId > 0) setPriority(threadId, nice);
  } catch {
    // see above
  }
}
