// Reads a child process's stdout and stderr as lines, so a test waits for the line it needs
// ("switchboard listening", "config reloaded") instead of sleeping and hoping.
import type { ChildProcess } from "node:child_process";

export type ChildOutput = {
  /** Everything printed so far (stdout and stderr, interleaved as they arrived). */
  text(): string;
  /** How many lines have arrived: pass it as `after` to wait for a line printed from now on. */
  mark(): number;
  /** Resolves with the first line (after line `after`) matching `pattern`; rejects on timeout or exit. */
  waitForLine(pattern: RegExp, options?: { after?: number; timeoutMs?: number }): Promise<RegExpExecArray>;
};

type Waiter = { pattern: RegExp; after: number; resolve(match: RegExpExecArray): void };

export function childOutput(child: ChildProcess): ChildOutput {
  const lines: string[] = [];
  const waiters = new Set<Waiter>();
  let text = "";
  let exited: string | undefined;

  const settle = (waiter: Waiter): boolean => {
    for (let i = waiter.after; i < lines.length; i++) {
      const match = waiter.pattern.exec(lines[i]);
      if (match) {
        waiters.delete(waiter);
        waiter.resolve(match);
        return true;
      }
    }
    return false;
  };

  const reader = () => {
    let partial = "";
    return (data: Buffer) => {
      text += data.toString();
      const pieces = (partial + data.toString()).split("\n");
      partial = pieces.pop() ?? "";
      if (pieces.length === 0) return;
      lines.push(...pieces);
      for (const waiter of waiters) settle(waiter);
    };
  };
  child.stdout?.on("data", reader());
  child.stderr?.on("data", reader());
  const onExit = new Promise<never>((_resolve, reject) => {
    // "close", not "exit": by then every line the child printed has been read.
    child.once("close", (code, signal) => {
      exited = `the child exited (${signal ?? code}) before printing it`;
      reject(new Error(exited));
    });
  });
  onExit.catch(() => undefined);

  return {
    text: () => text,
    mark: () => lines.length,
    waitForLine(pattern, options = {}) {
      // Generous: a child compiling TypeScript on a busy 2-core machine can take many seconds to start.
      const timeoutMs = options.timeoutMs ?? 90_000;
      return new Promise<RegExpExecArray>((resolve, reject) => {
        let timer: NodeJS.Timeout | undefined;
        const waiter: Waiter = {
          pattern,
          after: options.after ?? 0,
          resolve: (match) => {
            clearTimeout(timer);
            resolve(match);
          },
        };
        if (settle(waiter)) return;
        const fail = (why: string) => {
          waiters.delete(waiter);
          clearTimeout(timer);
          reject(new Error(`no line matching ${pattern}: ${why}\n--- output so far ---\n${text}`));
        };
        if (exited) return fail(exited);
        waiters.add(waiter);
        timer = setTimeout(() => fail(`not within ${timeoutMs} ms`), timeoutMs);
        onExit.catch((error: Error) => waiters.has(waiter) && fail(error.message));
      });
    },
  };
}
