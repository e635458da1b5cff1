// Every installed package runs on the Node version in use: `npm ci` must print no EBADENGINE.
import test from "ava";
import { readdir, readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { nodeSatisfies } from "./helpers/node-range.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

/** Every package.json under node_modules, nested installs included. */
async function installedManifests(dir: string): Promise<string[]> {
  const found: string[] = [];
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return found;
  }
  for (const entry of entries) {
    if (!entry.isDirectory() || entry.name.startsWith(".")) continue;
    const packages = entry.name.startsWith("@")
      ? (await readdir(join(dir, entry.name), { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => join(dir, entry.name, e.name))
      : [join(dir, entry.name)];
    for (const pkg of packages) {
      found.push(join(pkg, "package.json"));
      found.push(...(await installedManifests(join(pkg, "node_modules"))));
    }
  }
  return found;
}

test("the range reader agrees with npm on the forms that occur", (t) => {
  const cases: [string, string, boolean][] = [
    ["20.20.2", ">=20", true],
    ["20.20.2", ">=22", false],
    ["20.20.2", ">=20.18.1", true],
    ["20.20.2", "^20.19.0 || ^22.12.0 || >=23", true],
    ["20.18.0", "^20.19.0 || ^22.12.0 || >=23", false],
    ["20.20.2", "^12.20.0 || ^14.13.1 || >=16.0.0", true],
    ["20.20.2", "^14.18.0 || >=16.10.0", true],
    ["20.20.2", "^18.17.0 || >=20.5.0", true],
    ["20.20.2", "^20.17.0 || >=22.9.0", true],
    ["20.20.2", "^18", false],
    ["20.20.2", "~20.19", false],
    ["20.20.2", ">= 14.13", true],
    ["20.20.2", ">=18 <20", false],
    ["20.20.2", "18 - 20", true],
    ["20.20.2", "*", true],
  ];
  for (const [node, range, expected] of cases) t.is(nodeSatisfies(node, range), expected, `${node} in ${range}`);
});

test("no installed package's engines.node excludes the running Node version", async (t) => {
  const node = process.versions.node;
  const excluded: string[] = [];
  let checked = 0;
  for (const manifest of await installedManifests(join(ROOT, "node_modules"))) {
    let pkg: { name?: string; version?: string; engines?: { node?: unknown } };
    try {
      pkg = JSON.parse(await readFile(manifest, "utf8")) as typeof pkg;
    } catch {
      continue; // a folder without a manifest is not a package
    }
    const range = pkg.engines?.node;
    if (typeof range !== "string") continue;
    checked++;
    if (!nodeSatisfies(node, range)) excluded.push(`${pkg.name}@${pkg.version} requires node ${range}`);
  }
  t.true(checked > 50, `read the engines of ${checked} packages`);
  t.deepEqual(excluded, [], `Node ${node}`);
});
