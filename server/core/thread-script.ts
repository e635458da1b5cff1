// Starting a worker thread from a module of the gateway, in either launch mode: compiled JavaScript
// loads directly. From TypeScript sources (the gateway runs under tsx) the thread's module graph is
// bundled once per process into one CommonJS script (esbuild, the compiler tsx itself uses: tens of
// kB, well under a second), whose requires resolve from the entry's directory. A loader inside the
// thread (tsx's tsImport) would cost the thread a second isolate for the loader hooks, ~35 MB of
// resident memory.
import { fileURLToPath } from "node:url";
import { Worker, type WorkerOptions } from "node:worker_threads";
import { buildSync } from "esbuild";

/** `entry` is the thread's module next to the caller: `new URL("./x-worker.ts", import.meta.url)`. */
export function startThread(entry: URL, options: Omit<WorkerOptions, "eval"> = {}): Worker {
  if (!entry.pathname.endsWith(".ts")) return new Worker(entry, options);
  return new Worker(bundled(fileURLToPath(entry)), { ...options, eval: true });
}

/** The entry for the launch mode of `moduleUrl` (the caller's import.meta.url): `name`.ts or `name`.js. */
export function threadEntry(name: string, moduleUrl: string): URL {
  return new URL(`./${name}${moduleUrl.endsWith(".ts") ? ".ts" : ".js"}`, moduleUrl);
}

const scripts = new Map<string, string>();

function bundled(entry: string): string {
  let script = scripts.get(entry);
  if (script === undefined) {
    const output = buildSync({
      entryPoints: [entry], bundle: true, write: false, platform: "node", format: "cjs", target: "node20",
      packages: "external", logLevel: "silent",
    }).outputFiles[0].text;
    script = `(function (require) {\n${output}\n})(require("node:module").createRequire(${JSON.stringify(entry)}));`;
    scripts.set(entry, script);
  }
  return script;
}
