// The built-in configuration used when no config file is given: every provider whose standard
// environment variable is set, with a few aliases each, and `chat-default` falling back across
// them. With no credentials at all, only the demo alias (an embedded canned upstream).

type Doc = {
  auth?: { mode: "keys"; admin_key: string };
  store?: { sqlite: { path: string } };
  providers: Record<string, Record<string, unknown>>;
  models: Record<string, { targets: Record<string, unknown>[] }>;
  prices?: Record<string, { input: number; output: number }>;
};

export type DefaultConfig = { document: Doc; enabled: string[]; needsDemo: boolean };

export const DEMO_PROVIDER = "demo-upstream";

export function defaultConfig(env: NodeJS.ProcessEnv): DefaultConfig {
  const doc: Doc = { providers: {}, models: {} };
  const chatTargets: Record<string, unknown>[] = [];
  const enabled: string[] = [];
  const alias = (name: string, provider: string, model: string) => {
    doc.models[name] = { targets: [{ provider, model }] };
  };

  if (env.OPENAI_API_KEY) {
    doc.providers.openai = { type: "openai", api_key: "${OPENAI_API_KEY}", ...(env.OPENAI_BASE_URL ? { base_url: "${OPENAI_BASE_URL}" } : {}) };
    alias("gpt-4o-mini", "openai", "gpt-4o-mini");
    alias("gpt-4o", "openai", "gpt-4o");
    alias("embed-openai", "openai", "text-embedding-3-small");
    chatTargets.push({ provider: "openai", model: "gpt-4o-mini" });
    enabled.push("openai (OPENAI_API_KEY)");
  }
  if (env.ANTHROPIC_API_KEY) {
    doc.providers.anthropic = { type: "anthropic", api_key: "${ANTHROPIC_API_KEY}" };
    alias("claude-sonnet", "anthropic", "claude-sonnet-4-5");
    alias("claude-haiku", "anthropic", "claude-haiku-4-5");
    chatTargets.push({ provider: "anthropic", model: "claude-haiku-4-5" });
    enabled.push("anthropic (ANTHROPIC_API_KEY)");
  }
  const geminiKey = env.GEMINI_API_KEY ? "GEMINI_API_KEY" : env.GOOGLE_API_KEY ? "GOOGLE_API_KEY" : undefined;
  if (geminiKey) {
    doc.providers.gemini = { type: "gemini", api_key: `\${${geminiKey}}` };
    alias("gemini-flash", "gemini", "gemini-2.5-flash");
    alias("embed-gemini", "gemini", "text-embedding-004");
    chatTargets.push({ provider: "gemini", model: "gemini-2.5-flash" });
    enabled.push(`gemini (${geminiKey})`);
  }
  if (env.AWS_ACCESS_KEY_ID || env.AWS_PROFILE || env.AWS_BEARER_TOKEN_BEDROCK) {
    doc.providers.bedrock = { type: "bedrock", ...(env.AWS_REGION ? { region: "${AWS_REGION}" } : {}) };
    alias("nova-lite", "bedrock", "amazon.nova-lite-v1:0");
    alias("embed-titan", "bedrock", "amazon.titan-embed-text-v2:0");
    chatTargets.push({ provider: "bedrock", model: "amazon.nova-lite-v1:0" });
    enabled.push("bedrock (AWS credentials in the environment)");
  }

  const needsDemo = chatTargets.length === 0;
  if (needsDemo) {
    // Filled in with the demo upstream's address once it is listening.
    doc.providers[DEMO_PROVIDER] = { type: "openai", api_key: "demo-key-not-a-secret" };
    alias("demo", DEMO_PROVIDER, "demo-canned");
    chatTargets.push({ provider: DEMO_PROVIDER, model: "demo-canned" });
    // Canned answers carry a nominal price (gpt-4o-mini's), so cost, usage and budgets can be tried
    // on the demo; nothing is paid to anyone.
    doc.prices = { "demo-canned": { input: 0.15, output: 0.6 } };
  }
  // With an admin key in the environment the defaults govern: every call needs a virtual key, and
  // the admin CLI creates them (the newcomer path in the README).
  if (env.SWITCHBOARD_ADMIN_KEY) doc.auth = { mode: "keys", admin_key: "${SWITCHBOARD_ADMIN_KEY}" };
  if (env.SWITCHBOARD_SQLITE_PATH) doc.store = { sqlite: { path: "${SWITCHBOARD_SQLITE_PATH}" } };
  doc.models["chat-default"] = { targets: chatTargets.map((t, i) => ({ ...t, priority: i + 1 })) };
  return { document: doc, enabled, needsDemo };
}
