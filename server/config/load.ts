// Reads switchboard.yaml: YAML → ${ENV} substitution → schema → cross-references. Every problem
// is reported with the path of the bad field, all at once.
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { parse as parseYaml, YAMLParseError } from "yaml";
import type { z } from "zod";
import { registerSecret } from "../core/redact.js";
import { applyPolicyFile, checkRules } from "./routing-checks.js";
import { configSchema, type GatewayConfig } from "./schema.js";

export class ConfigError extends Error {
  override readonly name = "ConfigError";
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`invalid config ${source}:\n${problems.map((p) => `  ${p}`).join("\n")}`);
  }
}

type Path = ReadonlyArray<PropertyKey>;

export function formatPath(path: Path): string {
  let out = "";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else out += out === "" ? String(key) : `.${String(key)}`;
  }
  return out === "" ? "(root)" : out;
}

const ENV_REF = /\$\{(?:file:([^}]+)|([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?)\}/g;

/**
 * A secret mounted as a file (Kubernetes, Vault agent): read at every load, so a reload picks up
 * a rotated value. Read synchronously, at load time only, never on a call.
 */
function readSecretFile(file: string, at: string, problems: string[]): string {
  try {
    const value = readFileSync(file, "utf8").trim();
    registerSecret(value);
    return value;
  } catch (error) {
    problems.push(`${at}: cannot read secret file ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    return "";
  }
}

/** Replaces ${VAR}, ${VAR:-default} and ${file:/path} in every string of the tree. */
function substituteEnv(value: unknown, env: NodeJS.ProcessEnv, path: PropertyKey[], problems: string[]): unknown {
  if (typeof value === "string") {
    return value.replace(ENV_REF, (_match, file: string | undefined, name: string, fallback: string | undefined) => {
      if (file !== undefined) return readSecretFile(file, formatPath(path), problems);
      const found = env[name];
      if (found !== undefined && found !== "") {
        registerSecret(found);
        return found;
      }
      if (fallback !== undefined) return fallback;
      problems.push(`${formatPath(path)}: environment variable ${name} is not set`);
      return "";
    });
  }
  if (Array.isArray(value)) return value.map((item, i) => substituteEnv(item, env, [...path, i], problems));
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = substituteEnv(item, env, [...path, key], problems);
    return out;
  }
  return value;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === "unrecognized_keys") return `unknown field(s) ${issue.keys.map((k) => `"${k}"`).join(", ")}`;
  if (issue.code === "invalid_union" && "discriminator" in issue && issue.discriminator) {
    return `${issue.message}: expected one of openai, openai-compatible, anthropic, gemini, bedrock, sagemaker`;
  }
  return issue.message;
}

function crossReferences(config: GatewayConfig, baseDir: string): string[] {
  const problems: string[] = [];
  const known = Object.keys(config.providers);
  for (const [alias, spec] of Object.entries(config.models)) {
    if (spec.policy_file) problems.push(...applyPolicyFile(spec, `models.${alias}.policy_file`, baseDir));
    spec.targets.forEach((target, i) => {
      if (!(target.provider in config.providers)) {
        problems.push(
          `models.${alias}.targets[${i}].provider: unknown provider "${target.provider}" (known: ${known.join(", ") || "none"})`,
        );
      }
    });
  }
  for (const [name, provider] of Object.entries(config.providers)) {
    for (const key of ["api_key", "secret_access_key", "session_token"] as const) {
      const value = (provider as Record<string, unknown>)[key];
      if (typeof value === "string") registerSecret(value);
    }
    if (provider.type === "gemini" && !provider.api_key && !(provider.project && provider.location)) {
      problems.push(`providers.${name}: gemini needs api_key, or project and location for Vertex AI`);
    }
  }
  problems.push(...checkRules(config));
  return problems;
}

/** Validates an already-parsed document (YAML or JSON) against the schema. */
export function validateConfig(
  document: unknown,
  source: string,
  env: NodeJS.ProcessEnv = process.env,
  baseDir: string = process.cwd(),
): GatewayConfig {
  const problems: string[] = [];
  const substituted = substituteEnv(document ?? {}, env, [], problems);
  const parsed = configSchema.safeParse(substituted);
  if (!parsed.success) {
    // A missing ${VAR} or secret file already explains why its field is empty: do not report it twice.
    const missingEnv = new Set(problems.map((p) => p.slice(0, p.indexOf(": "))));
    for (const issue of parsed.error.issues) {
      const at = formatPath(issue.path);
      if (!missingEnv.has(at)) problems.push(`${at}: ${describeIssue(issue)}`);
    }
    throw new ConfigError(source, problems);
  }
  problems.push(...crossReferences(parsed.data, baseDir));
  if (problems.length > 0) throw new ConfigError(source, problems);
  return parsed.data;
}

export async function loadConfigFile(path: string, env: NodeJS.ProcessEnv = process.env): Promise<GatewayConfig> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new ConfigError(path, [`cannot read file: ${(error as Error).message}`]);
  }
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (error) {
    const where = error instanceof YAMLParseError && error.linePos ? ` (line ${error.linePos[0].line})` : "";
    throw new ConfigError(path, [`not valid YAML${where}: ${(error as Error).message.split("\n")[0]}`]);
  }
  return validateConfig(document, path, env, dirname(resolve(path)));
}
