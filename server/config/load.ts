// Reads switchboard.yaml: YAML → ${ENV} substitution → schema → cross-references. Every problem
// is reported with the path of the bad field, all at once. A load also reports what it used: the
// secrets (for redaction) and the files it read (for the watcher).
import { dirname, resolve } from "node:path";
import { parse as parseYaml, YAMLParseError } from "yaml";
import type { z } from "zod";
import { attachSecrets, registerSecret } from "../core/redact.js";
import { checkGovernance } from "./governance-checks.js";
import { otlpProtocol, tracesSampler } from "./otel-env.js";
import { applyPolicyFile, checkRules } from "./routing-checks.js";
import { configSchema, type GatewayConfig } from "./schema.js";
import { SourceRecorder, type ConfigSources } from "./sources.js";

export class ConfigError extends Error {
  override readonly name = "ConfigError";
  constructor(
    readonly source: string,
    readonly problems: string[],
    /** The files read before the problems were found: a watcher waits for them to change. */
    readonly sources: ConfigSources = new Map(),
  ) {
    super(`invalid config ${source}:\n${problems.map((p) => `  ${p}`).join("\n")}`);
  }
}

export type LoadedConfig = { config: GatewayConfig; sources: ConfigSources };

type Path = ReadonlyArray<PropertyKey>;

export function formatPath(path: Path): string {
  let out = "";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else out += out === "" ? String(key) : `.${String(key)}`;
  }
  return out === "" ? "(root)" : out;
}

/** What one load collects on the way. */
type LoadContext = { env: NodeJS.ProcessEnv; problems: string[]; secrets: Set<string>; files: SourceRecorder };

function newContext(env: NodeJS.ProcessEnv): LoadContext {
  return { env, problems: [], secrets: new Set(), files: new SourceRecorder() };
}

/** Registered at once, so anything reported while this load runs is redacted too. */
function addSecret(context: LoadContext, value: string): void {
  context.secrets.add(value);
  registerSecret(value);
}

const ENV_REF = /\$\{(?:file:([^}]+)|([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?)\}/g;

/**
 * A secret mounted as a file (Kubernetes, Vault agent): read at every load, so a reload picks up
 * a rotated value. Read synchronously, at load time only, never on a call.
 */
function readSecretFile(file: string, at: string, context: LoadContext): string {
  try {
    const value = context.files.readSync(file).trim();
    addSecret(context, value);
    return value;
  } catch (error) {
    context.problems.push(`${at}: cannot read secret file ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    return "";
  }
}

/** Replaces ${VAR}, ${VAR:-default} and ${file:/path} in every string of the tree. */
function substituteEnv(value: unknown, path: PropertyKey[], context: LoadContext): unknown {
  if (typeof value === "string") {
    return value.replace(ENV_REF, (_match, file: string | undefined, name: string, fallback: string | undefined) => {
      if (file !== undefined) return readSecretFile(file, formatPath(path), context);
      const found = context.env[name];
      if (found !== undefined && found !== "") {
        addSecret(context, found);
        return found;
      }
      if (fallback !== undefined) return fallback;
      context.problems.push(`${formatPath(path)}: environment variable ${name} is not set`);
      return "";
    });
  }
  if (Array.isArray(value)) return value.map((item, i) => substituteEnv(item, [...path, i], context));
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = substituteEnv(item, [...path, key], context);
    return out;
  }
  return value;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === "unrecognized_keys") return `unknown field(s) ${issue.keys.map((k) => `"${k}"`).join(", ")}`;
  // A record key that failed its own schema: say why (zod only says "Invalid key in record").
  if (issue.code === "invalid_key" && issue.issues.length > 0) return issue.issues.map(describeIssue).join("; ");
  if (issue.code === "invalid_union" && "discriminator" in issue && issue.discriminator) {
    return `${issue.message}: expected one of openai, openai-compatible, anthropic, gemini, bedrock, sagemaker`;
  }
  return issue.message;
}

/** Fields whose value is a credential, whichever provider type has them. */
const SECRET_FIELDS = ["api_key", "secret_access_key", "session_token"] as const;

function crossReferences(config: GatewayConfig, baseDir: string, context: LoadContext): string[] {
  const problems: string[] = [];
  const known = Object.keys(config.providers);
  for (const [alias, spec] of Object.entries(config.models)) {
    if (spec.policy_file) {
      problems.push(...applyPolicyFile(spec, `models.${alias}.policy_file`, baseDir, (path) => context.files.readSync(path)));
    }
    spec.targets.forEach((target, i) => {
      if (!(target.provider in config.providers)) {
        problems.push(
          `models.${alias}.targets[${i}].provider: unknown provider "${target.provider}" (known: ${known.join(", ") || "none"})`,
        );
      }
    });
  }
  for (const [name, provider] of Object.entries(config.providers)) {
    for (const key of SECRET_FIELDS) {
      const value = (provider as Record<string, unknown>)[key];
      if (typeof value === "string") addSecret(context, value);
    }
    // Extra headers carry tenant tokens and gateway keys as often as anything else: all secret.
    if ("headers" in provider && provider.headers) {
      for (const value of Object.values(provider.headers)) addSecret(context, value);
    }
    if (provider.type === "gemini" && !provider.api_key && !(provider.project && provider.location)) {
      problems.push(`providers.${name}: gemini needs api_key, or project and location for Vertex AI`);
    }
  }
  problems.push(...checkRules(config));
  problems.push(...checkGovernance(config));
  // Key secrets and the admin key are credentials even when written literally.
  for (const key of config.keys) if (key.secret !== undefined) addSecret(context, key.secret);
  if (config.auth.admin_key !== undefined) addSecret(context, config.auth.admin_key);
  return problems;
}

function validate(document: unknown, source: string, baseDir: string, context: LoadContext): GatewayConfig {
  const { problems } = context;
  const substituted = substituteEnv(document ?? {}, [], context);
  const parsed = configSchema.safeParse(substituted);
  if (!parsed.success) {
    // A missing ${VAR} or secret file already explains why its field is empty: do not report it twice.
    const missingEnv = new Set(problems.map((p) => p.slice(0, p.indexOf(": "))));
    for (const issue of parsed.error.issues) {
      const at = formatPath(issue.path);
      if (!missingEnv.has(at)) problems.push(`${at}: ${describeIssue(issue)}`);
    }
    throw new ConfigError(source, problems, context.files.sources);
  }
  problems.push(...crossReferences(parsed.data, baseDir, context));
  problems.push(...otlpProtocol(parsed.data, context.env), ...tracesSampler(parsed.data, context.env));
  if (problems.length > 0) throw new ConfigError(source, problems, context.files.sources);
  attachSecrets(parsed.data, context.secrets);
  return parsed.data;
}

/** Validates an already-parsed document (YAML or JSON) against the schema. */
export function validateConfig(
  document: unknown,
  source: string,
  env: NodeJS.ProcessEnv = process.env,
  baseDir: string = process.cwd(),
): GatewayConfig {
  return validate(document, source, baseDir, newContext(env));
}

/** Loads a config file and reports every file the config was built from. */
export async function loadConfigSources(path: string, env: NodeJS.ProcessEnv = process.env): Promise<LoadedConfig> {
  const context = newContext(env);
  let text: string;
  try {
    text = await context.files.read(path);
  } catch (error) {
    throw new ConfigError(path, [`cannot read file: ${(error as Error).message}`], context.files.sources);
  }
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (error) {
    const where = error instanceof YAMLParseError && error.linePos ? ` (line ${error.linePos[0].line})` : "";
    throw new ConfigError(path, [`not valid YAML${where}: ${(error as Error).message.split("\n")[0]}`], context.files.sources);
  }
  const config = validate(document, path, dirname(resolve(path)), context);
  return { config, sources: context.files.sources };
}

export async function loadConfigFile(path: string, env: NodeJS.ProcessEnv = process.env): Promise<GatewayConfig> {
  return (await loadConfigSources(path, env)).config;
}
