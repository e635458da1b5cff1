// The deployment files, checked without a container engine: every manifest and the compose file
// parse, the embedded switchboard.yaml passes the gateway's own config validation, and ports,
// probes, config mount paths and health checks agree with the gateway's defaults. The Docker
// HEALTHCHECK script runs against a real gateway.
import { execFile } from "node:child_process";
import { readdir, readFile, writeFile, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import test from "ava";
import { parse, parseAllDocuments } from "yaml";
import { InferenceService } from "../gen/switchboard/v1/inference_pb.js";
import { loadConfigFile } from "../server/config/load.js";
import { configSchema, type GatewayConfig } from "../server/config/schema.js";
import { startOpenAIFake } from "./fakes/openai.js";
import { useFake } from "./helpers/fakes.js";
import { singleProviderConfig, startTestGateway } from "./helpers/gateway.js";

// The parts of each manifest the checks read.
type Probe = { grpc: { port: number; service: string } };
type Container = {
  args: string[];
  ports: { name: string; containerPort: number }[];
  envFrom: { secretRef: { name: string } }[];
  livenessProbe: Probe;
  readinessProbe: Probe;
  volumeMounts: { name: string; mountPath: string; subPath?: string }[];
};
type PodSpec = {
  terminationGracePeriodSeconds: number;
  securityContext: { runAsNonRoot: boolean };
  containers: Container[];
  volumes: { name: string; configMap?: { name: string } }[];
};
type Selector = { matchLabels: Record<string, string> };
type Doc = {
  kind: string;
  metadata: { name: string };
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  resources?: string[];
  spec?: {
    replicas: number;
    selector: Selector & Record<string, string>;
    template: { spec: PodSpec };
    ports: { targetPort: string }[];
    minAvailable: number;
    groups: { rules: { alert?: string; record?: string; expr: string }[] }[];
  };
};
type ComposeService = {
  deploy: { replicas: number };
  command: string[];
  environment: Record<string, string>;
  volumes: string[];
  ports: string[];
  healthcheck: { test: string[] };
};
const SECRETS = {
  OPENAI_API_KEY: "sk-test-deploy-0000",
  ANTHROPIC_API_KEY: "sk-ant-test-deploy",
  SWITCHBOARD_ADMIN_KEY: "admin-key-for-deploy-test-0001",
  SWITCHBOARD_POSTGRES_URL: "postgres://switchboard:pw@postgres:5432/switchboard",
};
const defaultPort = Number(configSchema.shape.listen.parse(undefined).split(":").at(-1));
// What the gateway reports in grpc.health.v1: "" (the process) and InferenceService (drained first).
const HEALTH_SERVICES = ["", InferenceService.typeName];

async function manifests(): Promise<Doc[]> {
  const dir = "deploy/k8s";
  const docs: Doc[] = [];
  for (const name of (await readdir(dir)).filter((n) => n.endsWith(".yaml")).sort()) {
    for (const doc of parseAllDocuments(await readFile(join(dir, name), "utf8"))) {
      if (doc.errors.length > 0) throw new Error(`${name}: ${doc.errors[0]!.message}`);
      docs.push(doc.toJS() as Doc);
    }
  }
  return docs;
}

async function validateEmbedded(text: string): Promise<GatewayConfig> {
  const dir = await mkdtemp(join(tmpdir(), "sb-deploy-"));
  try {
    const file = join(dir, "switchboard.yaml");
    await writeFile(file, text);
    return await loadConfigFile(file, SECRETS);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const portOf = (listen: string) => Number(listen.split(":").at(-1));

test("k8s-manifests-agree-with-the-gateway: config validates, listens on 0.0.0.0, probes use grpc.health.v1 on its port", async (t) => {
  const docs = await manifests();
  const byKind = (kind: string) => docs.filter((d) => d.kind === kind);
  t.deepEqual(docs.map((d) => d.kind).sort(), ["ConfigMap", "Deployment", "Kustomization", "PodDisruptionBudget", "PrometheusRule", "Secret", "Service"]);

  const config = await validateEmbedded(byKind("ConfigMap")[0]!.data!["switchboard.yaml"]!);
  t.is(config.listen.split(":")[0], "0.0.0.0", "probes and peers cannot reach loopback");
  t.is(portOf(config.listen), defaultPort);
  t.truthy(config.shared_state?.redis);

  const deployment = byKind("Deployment")[0]!.spec!;
  const pod = deployment.template.spec;
  const container = pod.containers[0]!;
  t.true(deployment.replicas >= 3);
  const grpcPort = container.ports.find((p) => p.name === "grpc")!;
  t.is(grpcPort.containerPort, portOf(config.listen));
  for (const probe of [container.livenessProbe, container.readinessProbe]) {
    t.is(probe.grpc.port, portOf(config.listen));
    t.true(HEALTH_SERVICES.includes(probe.grpc.service), `probe service ${probe.grpc.service}`);
  }
  t.is(container.readinessProbe.grpc.service, InferenceService.typeName);
  t.true(pod.terminationGracePeriodSeconds * 1000 > config.shutdown_grace_ms, "the pod outlives the drain");
  t.true(pod.securityContext.runAsNonRoot);

  // --config names a file in the directory the ConfigMap is mounted on (a directory, so updates reach the pod).
  const configPath = container.args[container.args.indexOf("--config") + 1]!;
  const mount = container.volumeMounts.find((m) => m.mountPath === dirname(configPath));
  if (!mount) return t.fail(`no volume mounted at ${dirname(configPath)}`);
  t.falsy(mount.subPath);
  const volume = pod.volumes.find((v) => v.name === mount.name);
  t.is(volume?.configMap?.name, byKind("ConfigMap")[0]!.metadata.name);
  t.truthy(config.store.postgres, "the replicas share one PostgreSQL store");
  t.falsy(config.store.sqlite);

  // Every ${VAR} the config needs comes from the Secret the pod loads.
  const secret = byKind("Secret")[0]!;
  t.is(container.envFrom[0]!.secretRef.name, secret.metadata.name);
  for (const name of Object.keys(SECRETS)) t.true(name in secret.stringData!, name);

  const service = byKind("Service")[0]!.spec!;
  t.is(service.ports[0]!.targetPort, grpcPort.name);
  t.deepEqual(service.selector, deployment.selector.matchLabels);
  const pdb = byKind("PodDisruptionBudget")[0]!.spec!;
  t.deepEqual(pdb.selector, deployment.selector);
  t.true(pdb.minAvailable < deployment.replicas);

  const rules = byKind("PrometheusRule")[0]!.spec!.groups.flatMap((g) => g.rules);
  const alert = rules.find((r) => r.alert === "SwitchboardErrorRateHigh")!;
  t.regex(alert.expr, /> 0\.005\b/, "the alarm fires above 0.5 % errors");
  t.truthy(rules.find((r) => r.record && alert.expr.includes(r.record)), "the alert reads the recorded ratio");
  // The metric and label the gateway exports (server/telemetry/gateway-metrics.ts: calls by method and code).
  t.regex(rules.find((r) => r.record)!.expr!, /switchboard_calls_total\{code!~"OK\|/);
  const kustomization = byKind("Kustomization")[0]!;
  t.deepEqual([...kustomization.resources!].sort(), (await readdir("deploy/k8s")).filter((n) => n.endsWith(".yaml") && n !== "kustomization.yaml").sort());
});

test("compose-file-runs-three-replicas-with-redis-and-postgres-and-a-config-that-validates", async (t) => {
  const compose = parse(await readFile("docker-compose.yaml", "utf8")) as { services: Record<string, ComposeService | undefined> };
  const gateway = compose.services.switchboard!;
  t.is(gateway.deploy.replicas, 3);
  t.truthy(compose.services.redis);
  t.truthy(compose.services.postgres);
  const configPath = gateway.command[gateway.command.indexOf("--config") + 1]!;
  t.is(gateway.environment.SWITCHBOARD_CONFIG, configPath);
  const mount = gateway.volumes.map((v) => v.split(":")).find(([, inside]) => inside === dirname(configPath));
  t.truthy(mount, "the config directory is mounted");
  const config = await validateEmbedded(await readFile(join(mount![0]!, "switchboard.yaml"), "utf8"));
  t.is(config.listen, `0.0.0.0:${defaultPort}`);
  t.is(new URL(config.shared_state!.redis).hostname, "redis", "the Redis URL names the compose service");
  t.true(gateway.ports.every((p) => p.endsWith(`:${defaultPort}`)));
  t.is(new URL(config.store.postgres!.url).hostname, "postgres", "the store URL names the compose service");
  t.is(gateway.environment.SWITCHBOARD_POSTGRES_URL?.startsWith("postgres://switchboard:"), true);
  t.deepEqual(gateway.healthcheck.test, ["CMD", "node", "deploy/healthcheck.mjs"]);
});

test("dockerfile-is-multi-stage-non-root-production-deps-and-health-checked", async (t) => {
  const dockerfile = await readFile("Dockerfile", "utf8");
  t.is(dockerfile.match(/^FROM /gm)?.length, 2);
  t.regex(dockerfile, /npm ci --omit=dev/);
  t.regex(dockerfile, /^USER node$/m);
  t.regex(dockerfile, new RegExp(`^EXPOSE ${defaultPort}$`, "m"));
  t.regex(dockerfile, /HEALTHCHECK[^]*CMD \["node", "deploy\/healthcheck\.mjs"\]/);
  t.regex(dockerfile, /COPY deploy\/healthcheck\.mjs/);
  // Run with tsx, so tsx must survive --omit=dev.
  t.regex(dockerfile, /--import=tsx/);
  const manifest = JSON.parse(await readFile("package.json", "utf8")) as { dependencies: Record<string, string> };
  t.truthy(manifest.dependencies.tsx);
  t.truthy(manifest.dependencies["@grpc/grpc-js"], "the health check script's only import");
});

test("healthcheck-script-exits-0-for-a-serving-gateway-and-1-when-none-answers", async (t) => {
  const fake = await useFake(t, () => startOpenAIFake());
  const { gateway } = await startTestGateway(t, singleProviderConfig({ type: "openai", base_url: `${fake.url}/v1`, api_key: "sk-test-000000000000" }));
  const run = (address: string) =>
    promisify(execFile)(process.execPath, ["deploy/healthcheck.mjs"], { env: { ...process.env, SWITCHBOARD_HEALTH_ADDRESS: address } }).then(
      () => 0,
      (error: { code: number }) => error.code,
    );
  t.is(await run(gateway.address), 0);
  const address = gateway.address;
  await gateway.close(0);
  t.is(await run(address), 1);
});
