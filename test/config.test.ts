// Config validation: every problem reported with the path of the bad field.
import test from "ava";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigError, loadConfigFile, loadConfigSources, validateConfig } from "../server/config/load.js";
import { defaultConfig } from "../server/config/defaults.js";
import { MISSING } from "../server/config/sources.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

const valid = {
  providers: { "openai-main": { type: "openai", api_key: "sk-x-123456" } },
  models: { chat: { targets: [{ provider: "openai-main", model: "gpt-4o-mini" }] } },
};

function problems(document: unknown, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    validateConfig(document, "test", env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

test("a valid config gets its defaults", (t) => {
  const config = validateConfig(valid, "test", {});
  t.is(config.listen, "127.0.0.1:50051");
  t.is(config.models.chat.strategy, "priority");
  t.is(config.models.chat.targets[0].priority, 1);
});

test("unknown provider in a target names the path and the known providers", (t) => {
  const doc = structuredClone(valid);
  doc.models.chat.targets[0].provider = "opena1";
  t.deepEqual(problems(doc), ['models.chat.targets[0].provider: unknown provider "opena1" (known: openai-main)']);
});

test("a misspelt field is reported, not ignored", (t) => {
  const doc = { ...valid, providers: { "openai-main": { type: "openai", api_kee: "x", api_key: "y" } } };
  t.deepEqual(problems(doc), ['providers.openai-main: unknown field(s) "api_kee"']);
});

test("an unknown provider type lists the known types", (t) => {
  const doc = { ...valid, providers: { "openai-main": { type: "openia", api_key: "y" } } };
  const [problem] = problems(doc);
  t.regex(problem, /^providers\.openai-main\.type: .*expected one of openai, openai-compatible, anthropic, gemini, bedrock, sagemaker/);
});

test("several problems are reported at once", (t) => {
  const doc = { listen: "nowhere", providers: {}, models: { chat: { targets: [] } } };
  const found = problems(doc);
  t.true(found.some((p) => p.startsWith("listen: expected host:port")));
  t.true(found.some((p) => p.startsWith("models.chat.targets:")));
});

test("${ENV} substitution fills secrets and reports missing variables by path", (t) => {
  const doc = { ...valid, providers: { "openai-main": { type: "openai", api_key: "${OPENAI_KEY_FOR_TEST}" } } };
  t.is((validateConfig(doc, "t", { OPENAI_KEY_FOR_TEST: "sk-from-env" }).providers["openai-main"] as { api_key: string }).api_key, "sk-from-env");
  t.deepEqual(problems(doc, {}), ["providers.openai-main.api_key: environment variable OPENAI_KEY_FOR_TEST is not set"]);
  const withDefault = { ...valid, listen: "${SB_LISTEN:-127.0.0.1:6000}" };
  t.is(validateConfig(withDefault, "t", {}).listen, "127.0.0.1:6000");
});

test("a YAML syntax error names the line", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "sb-config-"));
  const file = join(dir, "switchboard.yaml");
  await writeFile(file, "providers:\n  a: [unclosed\nmodels: {}\n");
  const error = await t.throwsAsync(loadConfigFile(file), { instanceOf: ConfigError });
  t.regex(error?.message ?? "", /not valid YAML \(line \d+\)/);
});

test("built-in defaults: demo alias without credentials, providers from the environment otherwise", (t) => {
  const none = defaultConfig({});
  t.true(none.needsDemo);
  t.deepEqual(Object.keys(none.document.models).sort(), ["chat-default", "demo"]);
  const some = defaultConfig({ OPENAI_API_KEY: "sk-a", ANTHROPIC_API_KEY: "sk-b" });
  t.false(some.needsDemo);
  t.deepEqual(Object.keys(some.document.providers), ["openai", "anthropic"]);
  t.deepEqual(
    some.document.models["chat-default"].targets.map((x) => x.provider),
    ["openai", "anthropic"],
    "chat-default falls back across every enabled provider",
  );
  t.is(some.enabled.length, 2);
  t.false(JSON.stringify(some).includes("sk-a"), "secrets stay ${ENV} references");
});

test("the README's example config is examples/switchboard.yaml, and it is valid", async (t) => {
  const readme = await readFile(join(ROOT, "README.md"), "utf8");
  const example = await readFile(join(ROOT, "examples/switchboard.yaml"), "utf8");
  const shown = /```yaml\n(listen: [\s\S]*?)```/.exec(readme)?.[1] ?? "(no yaml block in the README)";
  t.is(example.slice(example.indexOf("\n") + 1), shown, "the README shows the example file unchanged");
  const env = { OPENAI_API_KEY: "sk-example-1", ANTHROPIC_API_KEY: "sk-example-2", GEMINI_API_KEY: "AIza-example-3" };
  const config = await loadConfigFile(join(ROOT, "examples/switchboard.yaml"), env);
  t.deepEqual(Object.values(config.providers).map((p) => p.type).sort(), ["anthropic", "bedrock", "gemini", "openai", "openai-compatible", "sagemaker"]);
  const summarizer = config.models.summarizer.targets;
  t.deepEqual(summarizer.map((x) => x.priority), [1, 2], "routing.json set the priorities");
  t.is(config.rules.length, 3);
});

test("a load reports every file it read: the config, its policy files and its secret files", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "sb-sources-"));
  const file = join(dir, "switchboard.yaml");
  await writeFile(join(dir, "key"), "sk-sources-000001\n");
  await writeFile(join(dir, "routing.json"), JSON.stringify({ routing: [{ model: "gpt-4o-mini", priority: 3 }] }));
  const document = {
    providers: { "openai-main": { type: "openai", api_key: `\${file:${join(dir, "key")}}` } },
    models: { chat: { policy_file: "routing.json", targets: [{ provider: "openai-main", model: "gpt-4o-mini" }] } },
  };
  await writeFile(file, JSON.stringify(document));
  const { config, sources } = await loadConfigSources(file, {});
  t.is(config.models.chat.targets[0].priority, 3);
  t.deepEqual([...sources.keys()].sort(), [join(dir, "key"), join(dir, "routing.json"), file].sort());
  t.true([...sources.values()].every((hash) => hash !== MISSING));

  // A file that cannot be read is reported too, so a watcher reloads once it appears.
  await writeFile(file, JSON.stringify({ ...document, providers: { "openai-main": { type: "openai", api_key: `\${file:${join(dir, "later")}}` } } }));
  const error = await t.throwsAsync(loadConfigSources(file, {}), { instanceOf: ConfigError });
  t.is(error?.sources.get(join(dir, "later")), MISSING);
});

test("audit-redact-pattern-that-does-not-compile is refused naming its path", (t) => {
  t.deepEqual(
    problems({ ...valid, audit: { capture_prompts: true, redact: ["ok\\d+", "(unclosed"] } }).filter((p) => p.startsWith("audit")),
    ["audit.redact[1]: not a valid regular expression"],
  );
});
