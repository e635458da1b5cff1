// The files a config was built from (the config file, policy files, secret files), each with a
// hash of the content the loader read, so a watcher can tell a real change from an unrelated
// event in the same directory.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";

/** Absolute path → content hash, or MISSING when the file could not be read. */
export type ConfigSources = ReadonlyMap<string, string>;

export const MISSING = "(missing)";

export function contentHash(text: string): string {
  return createHash("sha256").update(text).digest("base64");
}

/** Reads files for one load and remembers what it read. */
export class SourceRecorder {
  readonly sources = new Map<string, string>();

  /** Synchronous: used at load time only, never on a call. Throws what readFileSync throws. */
  readSync(path: string): string {
    const absolute = resolve(path);
    try {
      const text = readFileSync(absolute, "utf8");
      this.sources.set(absolute, contentHash(text));
      return text;
    } catch (error) {
      this.sources.set(absolute, MISSING);
      throw error;
    }
  }

  async read(path: string): Promise<string> {
    const absolute = resolve(path);
    try {
      const text = await readFile(absolute, "utf8");
      this.sources.set(absolute, contentHash(text));
      return text;
    } catch (error) {
      this.sources.set(absolute, MISSING);
      throw error;
    }
  }
}

/** The hash of a file's content now (MISSING when it cannot be read). */
export async function currentHash(path: string): Promise<string> {
  try {
    return contentHash(await readFile(path, "utf8"));
  } catch {
    return MISSING;
  }
}
