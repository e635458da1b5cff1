// Just enough of npm's semver range grammar to read `engines.node`: `||` alternatives of
// space-separated comparators (>=, >, <=, <, =, ^, ~, bare and x versions, `a - b`).

type Version = [number, number, number];

function parts(text: string): { version: Version; given: number } {
  const fields = text.replace(/^v/, "").split(/[-+]/)[0].split(".");
  const numbers = fields.filter((f) => /^\d+$/.test(f)).map(Number);
  return { version: [numbers[0] ?? 0, numbers[1] ?? 0, numbers[2] ?? 0], given: numbers.length };
}

function compare(a: Version, b: Version): number {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}

/** The exclusive upper bound of a version given to `given` places (1.2 → 1.3.0). */
function nextAfter(version: Version, given: number): Version {
  if (given <= 1) return [version[0] + 1, 0, 0];
  if (given === 2) return [version[0], version[1] + 1, 0];
  return [version[0], version[1], version[2] + 1];
}

function satisfiesComparator(node: Version, comparator: string): boolean {
  const match = /^(>=|<=|>|<|=|\^|~)?\s*(.*)$/.exec(comparator);
  if (!match) throw new Error(`cannot read comparator "${comparator}"`);
  const [, operator = "", rest] = match;
  if (rest === "" || rest === "*" || /^[xX*]/.test(rest)) return true;
  if (!/^v?\d/.test(rest)) throw new Error(`cannot read comparator "${comparator}"`);
  const { version, given } = parts(rest);
  const c = compare(node, version);
  switch (operator) {
    case ">=":
      return c >= 0;
    case ">":
      return compare(node, nextAfter(version, given)) >= 0;
    case "<=":
      return compare(node, nextAfter(version, given)) < 0;
    case "<":
      return c < 0;
    case "^": {
      const upper: Version = version[0] > 0 || given === 1 ? [version[0] + 1, 0, 0] : version[1] > 0 || given === 2 ? [0, version[1] + 1, 0] : [0, 0, version[2] + 1];
      return c >= 0 && compare(node, upper) < 0;
    }
    case "~":
      return c >= 0 && compare(node, nextAfter(version, Math.min(given, 2))) < 0;
    default:
      return c >= 0 && compare(node, nextAfter(version, given)) < 0;
  }
}

/** Whether the Node version `node` (e.g. "20.20.2") satisfies the range `range`. */
export function nodeSatisfies(node: string, range: string): boolean {
  const version = parts(node).version;
  return range.split("||").some((alternative) => {
    const text = alternative.trim().replace(/(>=|<=|>|<|=|\^|~)\s+/g, "$1");
    const hyphen = /^(\S+)\s+-\s+(\S+)$/.exec(text);
    if (hyphen) return satisfiesComparator(version, `>=${hyphen[1]}`) && satisfiesComparator(version, `<=${hyphen[2]}`);
    return text.split(/\s+/).every((comparator) => satisfiesComparator(version, comparator));
  });
}
