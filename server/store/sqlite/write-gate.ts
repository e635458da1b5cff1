// The main thread's connection and the writer thread's share one write lock. SQLite's busy handler
// waits by sleeping and polling, so a writer thread committing back to back (a burst of appends)
// would starve the main thread's rare writes until their busy_timeout expired. The gate is one
// shared counter: the main thread raises it around a write; the writer thread, before each of its
// transactions, waits while it is raised. The main thread then waits at most for the one
// transaction in progress, which busy_timeout covers.
const MAX_YIELD_MS = 1000;

export class WriteGate {
  private readonly waiting: Int32Array;

  constructor(readonly shared: SharedArrayBuffer = new SharedArrayBuffer(4)) {
    this.waiting = new Int32Array(shared);
  }

  /** Main thread: runs `write` while the writer thread starts no transaction. */
  hold<T>(write: () => T): T {
    Atomics.add(this.waiting, 0, 1);
    try {
      return write();
    } finally {
      if (Atomics.sub(this.waiting, 0, 1) === 1) Atomics.notify(this.waiting, 0);
    }
  }

  /** Writer thread: before a transaction, lets a waiting main-thread write go first (bounded). */
  yieldToMain(): void {
    let held = Atomics.load(this.waiting, 0);
    if (held === 0) return;
    const deadline = Date.now() + MAX_YIELD_MS;
    for (let left = MAX_YIELD_MS; held !== 0 && left > 0; left = deadline - Date.now()) {
      Atomics.wait(this.waiting, 0, held, left);
      held = Atomics.load(this.waiting, 0);
    }
  }
}
