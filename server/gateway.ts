// Assembles a running gateway from a validated config: SDK clients (once per provider), the
// router, the one set of call functions behind every door (grpc-js for gRPC over HTTP/2,
// connect-node for Connect and gRPC-Web, the OpenAI-compatible HTTP API under /v1/), and the listeners.
import { readFile } from "node:fs/promises";
import type http from "node:http";
import type { DescFile } from "@bufbuild/protobuf";
import type { SpanExporter } from "@opentelemetry/sdk-trace-base";
import { Code } from "@connectrpc/connect";
import { file_google_protobuf_duration, file_google_protobuf_struct } from "@bufbuild/protobuf/wkt";
import { Health, file_grpc_health_v1_health } from "../gen/grpc/health/v1/health_pb.js";
import { file_google_rpc_error_details } from "../gen/google/rpc/error_details_pb.js";
import * as reflectionV1 from "../gen/grpc/reflection/v1/reflection_pb.js";
import * as reflectionV1alpha from "../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { AdminService, file_switchboard_v1_admin } from "../gen/switchboard/v1/admin_pb.js";
import { InferenceService, file_switchboard_v1_inference } from "../gen/switchboard/v1/inference_pb.js";
import { authMode, type GatewayConfig } from "./config/schema.js";
import { listen, type Handler, type Listener } from "./listen.js";
import { createOpenAIDoor } from "./openai/door.js";
import type { PolicyChain } from "./policy/chain.js";
import { Governance } from "./policy/governance.js";
import type { KeyDirectory } from "./policy/keys.js";
import type { AlertPost, BudgetAlerts } from "./policy/limits/budget-alerts.js";
import { createLedgerStep } from "./policy/ledger-step.js";
import { createTransport, type Transport } from "./providers/transport.js";
import { Runtime } from "./runtime.js";
import { HealthStatus, ServingStatus, createHealthService } from "./rpc/health.js";
import { identifyAdmin, requireAdmin, type AdminCredentials } from "./rpc/admin-auth.js";
import { createAdminCalls } from "./rpc/admin-calls.js";
import { adminGrpcHandlers, createAdminService } from "./rpc/admin-service.js";
import { createInferenceCalls, listModelsResponse } from "./rpc/calls.js";
import { createDashboardHandler, type DashboardHandler } from "./dashboard/handler.js";
import { createConnectDoor } from "./rpc/connect-door.js";
import { createGrpcDoor } from "./rpc/grpc-door.js";
import { createInferenceService } from "./rpc/inference.js";
import { createReflectionIndex, createReflectionV1, createReflectionV1alpha } from "./rpc/reflection.js";
import { PostgresStore } from "./store/postgres/postgres-store.js";
import { DEFAULT_SQLITE_PATH } from "./store/sqlite/open.js";
import type { SharedStateCounters } from "./shared-state/connection.js";
import { connectSharedState, type SharedStateParts } from "./shared-state/shared-state-parts.js";
import { SqliteStore } from "./store/sqlite/sqlite-store.js";
import type { KeyInfo, KeyRestrictions, Store } from "./store/store.js";
import { GatewayMetrics } from "./telemetry/gateway-metrics.js";
import { createLogger, type Logger } from "./telemetry/log.js";
import { startOperatorListener, type OperatorListener } from "./telemetry/operator.js";
import { createTelemetryStep } from "./telemetry/telemetry-step.js";
import { createTracing } from "./telemetry/tracing.js";

export type Gateway = {
  address: string;
  port: number;
  /** host:port of the browser listener (web_listen), when configured. */
  webAddress?: string;
  /** host:port of the operators' listener (/metrics, /healthz, /readyz), unless its default port was taken. */
  operatorAddress?: string;
  metrics: GatewayMetrics;
  health: HealthStatus;
  log: Logger;
  /** The virtual keys in force; the admin service calls keys.refresh() after creating or revoking one. */
  keys: KeyDirectory;
  /** Budget alerts in flight; `alerts.idle()` resolves once every webhook delivery has ended. */
  alerts: BudgetAlerts;
  /** The ledger, keys and audit log. */
  store: Store;
  /** The operator dashboard: mount it at /dashboard on the operator listener (it answers false for other paths). */
  dashboard: DashboardHandler;
  /** Redis outages and the calls admitted unchecked or refused meanwhile (shared_state only), for metrics. */
  sharedState?: SharedStateCounters;
  /** Applies a new, already validated config without a restart (see runtime.ts). */
  reload(config: GatewayConfig): void;
  /** Graceful stop: NOT_SERVING, stop accepting, drain for the grace period, release upstreams. */
  close(graceMs?: number): Promise<void>;
};

export type GatewayOptions = {
  logDestination?: NodeJS.WritableStream;
  transport?: Transport;
  /** Lines for the operator, logged before the gateway starts listening. */
  notes?: string[];
  /** The routing strategies' random source (tests seed it). */
  random?: () => number;
  /** Steps every call passes before the router, on every protocol, after the governance step. */
  policy?: PolicyChain;
  /** The store to use instead of opening `config.store`; the caller closes it. */
  store?: Store;
  /** Budget alert delivery (default: a JSON POST to the budget's webhook). */
  alertPost?: AlertPost;
  /** The limits' and budgets' clock (tests freeze it so token buckets do not refill mid-test). */
  clock?: () => number;
  /** Exports every span as it ends, whatever `telemetry.traces` says (tests: an in-memory exporter). */
  spanExporter?: SpanExporter;
  /** Where CloudWatch EMF lines go when `telemetry.cloudwatch_emf` is on (default: stdout). */
  emfDestination?: NodeJS.WritableStream;
};

export const DEFAULT_OPERATOR_LISTEN = "127.0.0.1:9464";
const VERSION = "0.1.0";

/** The operator listener; a taken default port is logged, not fatal (an explicit address is). */
async function startOperator(config: GatewayConfig, log: Logger, metrics: GatewayMetrics, ready: () => boolean, dashboard: DashboardHandler): Promise<OperatorListener | undefined> {
  const address = config.operator.listen ?? DEFAULT_OPERATOR_LISTEN;
  try {
    return await startOperatorListener({ ...parseListen(address), bearer: config.operator.bearer, metrics: () => metrics.render(), ready, mounted: dashboard });
  } catch (error) {
    if (config.operator.listen !== undefined || (error as NodeJS.ErrnoException).code !== "EADDRINUSE") throw error;
    log.warn({ address }, "operator listener not started: its default address is in use (set operator.listen)");
    return undefined;
  }
}

/** The configured store: PostgreSQL (connected and migrated before the gateway serves) or SQLite. */
export async function openStore(config: GatewayConfig, log: Logger): Promise<Store> {
  const onWriteError = (error: Error, items: number) =>
    log.error({ err: error, items }, items > 0 ? "the store could not write: ledger rows or audit records are lost" : "store background work failed");
  const { postgres, sqlite, retention_days: retentionDays } = config.store;
  if (postgres) {
    return PostgresStore.open({ url: postgres.url, maxConnections: postgres.max_connections, retentionDays, onWriteError });
  }
  return new SqliteStore({ path: sqlite?.path ?? DEFAULT_SQLITE_PATH, retentionDays, onWriteError });
}

/** A config key as ListKeys shows it: its restrictions as configured, never its secret or digest. */
function configKeyInfo(key: GatewayConfig["keys"][number]): KeyInfo {
  const { secret: _secret, sha256: _sha256, name, team, expires_at, ...restrictions } = key;
  return { id: `config:${name}`, name, team, createdAt: 0, expiresAt: expires_at === undefined ? undefined : Date.parse(expires_at), restrictions: restrictions as KeyRestrictions, source: "config" };
}

const redactionCache = new WeakMap<GatewayConfig, readonly RegExp[]>();

/** The audit's prompt redaction patterns, compiled once per config generation; undefined: no capture. */
function promptRedaction(config: GatewayConfig): readonly RegExp[] | undefined {
  if (!config.audit.capture_prompts) return undefined;
  let patterns = redactionCache.get(config);
  if (!patterns) {
    patterns = config.audit.redact.map((pattern) => new RegExp(pattern, "gi"));
    redactionCache.set(config, patterns);
  }
  return patterns;
}

function parseListen(listenAddress: string): { host: string; port: number } {
  const at = listenAddress.lastIndexOf(":");
  return { host: listenAddress.slice(0, at).replace(/^\[|\]$/g, ""), port: Number(listenAddress.slice(at + 1)) };
}

const SERVED_FILES: DescFile[] = [
  file_switchboard_v1_inference,
  file_switchboard_v1_admin,
  file_grpc_health_v1_health,
  reflectionV1.file_grpc_reflection_v1_reflection,
  reflectionV1alpha.file_grpc_reflection_v1alpha_reflection,
  file_google_rpc_error_details,
  file_google_protobuf_struct,
  file_google_protobuf_duration,
];

export async function startGateway(config: GatewayConfig, options: GatewayOptions = {}): Promise<Gateway> {
  const log = createLogger(config.log_level, options.logDestination ?? process.stdout);
  for (const note of options.notes ?? []) log.info(note);
  const transport = options.transport ?? createTransport();
  let runtime: Runtime;
  let store: Store;
  let shared: SharedStateParts | undefined;
  try {
    if (config.shared_state) shared = await connectSharedState(config.shared_state, log);
    runtime = new Runtime(config, transport, log, options.random, shared?.circuits.factory);
  } catch (error) {
    await shared?.close();
    await transport.close();
    throw error;
  }
  try {
    store = options.store ?? (await openStore(config, log));
  } catch (error) {
    await shared?.close();
    await runtime.close();
    await transport.close();
    throw error;
  }
  await shared?.circuits.load();
  const closeStore = async () => {
    await shared?.close();
    if (!options.store) await store.close();
  };
  const ledger = createLedgerStep({
    store,
    promptCapture: () => promptRedaction(runtime.config()),
    onUnauthenticated: (call) => log.warn({ protocol: call.protocol, method: call.method }, "unauthenticated call refused"),
    regionOf: (alias, provider, model) => {
      const targets = runtime.router().list().find((a) => a.name === alias)?.targets ?? [];
      return targets.find((t) => t.adapter.name === provider && t.config.model === model)?.config.region ?? "";
    },
    onAppendError: (error, requestId) => log.error({ err: error, request_id: requestId }, "ledger row not committed"),
  });

  const governance = new Governance(config, {
    log,
    routing: () => runtime.router(),
    store,
    post: options.alertPost,
    clock: options.clock,
    limits: shared?.limits,
    budgets: shared?.budgets,
  });
  // Redis restarted empty (no persistence) loses the spend counters: seed again from the ledger.
  shared?.state.onRecovered(() => void governance.seedBudgets().catch((error: unknown) => log.error({ err: error }, "re-seeding budgets failed")));
  const keyChanges = shared?.watchKeys(() => governance.keys.refresh());
  try {
    await governance.start();
  } catch (error) {
    await runtime.close();
    await transport.close();
    await closeStore();
    throw error;
  }

  const metrics = new GatewayMetrics({
    *targets() {
      for (const alias of runtime.router().list()) {
        for (const t of alias.targets) yield { alias: alias.name, provider: t.adapter.name, model: t.config.model, circuit: t.state.circuit };
      }
    },
    budgets: () => governance.teamBudgetsLeft(),
    ...(shared ? { sharedState: () => shared.state.counters } : {}),
  });
  const tracing = createTracing(config.telemetry.traces, VERSION, options.spanExporter);
  const emfOut = options.emfDestination ?? process.stdout;
  const telemetry = createTelemetryStep({
    metrics,
    log,
    tracer: tracing?.tracer,
    emf: config.telemetry.cloudwatch_emf ? (line) => void emfOut.write(line) : undefined,
  });

  const health = new HealthStatus();
  const serviceNames = [
    InferenceService.typeName,
    AdminService.typeName,
    Health.typeName,
    reflectionV1.ServerReflection.typeName,
    reflectionV1alpha.ServerReflection.typeName,
  ];
  health.set("", ServingStatus.SERVING);
  health.set(InferenceService.typeName, ServingStatus.SERVING);
  health.set(AdminService.typeName, ServingStatus.SERVING);
  const reflection = createReflectionIndex(serviceNames, SERVED_FILES);

  const calls = createInferenceCalls({
    router: () => runtime.router(),
    // The ledger comes first so a call a later step refuses (a limit, a budget) still gets its row;
    // only InferenceService passes the chain: health and reflection stay reachable without a key.
    // Telemetry first: it times and traces the whole call and sees every refusal.
    policy: [telemetry, ledger, ...governance.policy, ...(options.policy ?? [])],
    logError: (error) => log.error({ err: error }, "unexpected error in a call"),
    logUpstreamFailure: (error) =>
      log.warn(
        { kind: error.failure.kind, provider: error.failure.provider, attempts: error.attempts.map((a) => `${a.provider}/${a.targetModel}:${a.outcome}`) },
        error.message,
      ),
    logInterrupted: (error) =>
      log.info(
        {
          code: Code[error.code],
          provider: error.partial.route.provider,
          model: error.partial.route.targetModel,
          inputTokens: error.partial.usage.inputTokens,
          outputTokens: error.partial.usage.outputTokens,
          estimated: error.partial.usage.estimated,
          costNanoUsd: String(error.partial.costNanoUsd),
        },
        "stream ended by the caller after output reached it: usage so far",
      ),
  });
  const logCallError = (error: unknown) => log.error({ err: error }, "unexpected error in a call");
  const adminCredentials: AdminCredentials = {
    adminKey: () => runtime.config().auth.admin_key,
    keys: () => (authMode(runtime.config()) === "keys" ? governance.keys : undefined),
  };
  const admin = createAdminCalls({
    store,
    ...adminCredentials,
    budgets: () => governance.budgets(),
    configKeys: () => runtime.config().keys.map(configKeyInfo),
    onKeysChanged: async () => {
      await governance.keys.refresh();
      await keyChanges?.changed();
    },
  });
  const dashboard = createDashboardHandler({
    admin,
    authenticate: (ctx) => requireAdmin(identifyAdmin(ctx.header, adminCredentials), "the dashboard"),
    listModels: () => listModelsResponse(runtime.router()),
  });
  const connectDoor = createConnectDoor({
    readMaxBytes: config.max_message_bytes,
    routes(r) {
      r.service(InferenceService, createInferenceService(calls));
      r.service(AdminService, createAdminService(admin));
      r.service(Health, createHealthService(health));
      r.service(reflectionV1.ServerReflection, createReflectionV1(reflection));
      r.service(reflectionV1alpha.ServerReflection, createReflectionV1alpha(reflection));
    },
  });
  // HTTP/1.1 (and web_listen's HTTP/2) requests under /v1/ are the OpenAI-compatible API; the rest is Connect / gRPC-Web.
  const openaiDoor = createOpenAIDoor({ calls, maxBodyBytes: config.max_message_bytes, logError: logCallError });
  const handler: Handler = (req, res) => {
    if (req.url?.startsWith("/v1/")) openaiDoor(req as http.IncomingMessage, res as http.ServerResponse);
    else connectDoor(req, res);
  };
  const grpcDoor = createGrpcDoor({
    calls,
    health,
    files: SERVED_FILES,
    maxMessageBytes: config.max_message_bytes,
    logError: logCallError,
    services: [{ service: AdminService, handlers: adminGrpcHandlers(admin, logCallError) }],
  });

  const tls = config.tls
    ? { cert: await readFile(config.tls.cert_file), key: await readFile(config.tls.key_file) }
    : undefined;
  const listeners: Listener[] = [];
  let ready = false;
  let operator: OperatorListener | undefined;
  try {
    listeners.push(await listen(handler, { ...parseListen(config.listen), tls, http2Door: grpcDoor }));
    if (config.web_listen !== undefined) listeners.push(await listen(handler, { ...parseListen(config.web_listen), tls }));
    operator = await startOperator(config, log, metrics, () => ready, dashboard);
  } catch (error) {
    await Promise.all(listeners.map((l) => l.close(0)));
    grpcDoor.destroy();
    await transport.close();
    await tracing?.shutdown();
    await closeStore();
    throw error;
  }
  const [listener, webListener] = listeners;
  ready = true;
  log.info(
    {
      address: listener.address,
      web_address: webListener?.address,
      operator_address: operator?.address,
      tls: tls !== undefined,
      traces: config.telemetry.traces.exporter,
      aliases: Object.keys(config.models),
    },
    "switchboard listening",
  );

  let closing: Promise<void> | undefined;
  return {
    address: listener.address,
    port: listener.port,
    webAddress: webListener?.address,
    operatorAddress: operator?.address,
    metrics,
    health,
    log,
    keys: governance.keys,
    alerts: governance.alerts,
    store,
    dashboard,
    sharedState: shared?.state.counters,
    reload(next) {
      runtime.reload(next);
      governance.reload(next);
      store
        .appendAudit({ time: Date.now(), kind: "config_reloaded", actor: "config", detail: { aliases: String(Object.keys(next.models).length) } })
        .catch((error: unknown) => log.error({ err: error }, "config reload not audited"));
    },
    close(graceMs = config.shutdown_grace_ms) {
      closing ??= (async () => {
        // Not ready from the first moment of the drain; the operator listener stays up through it.
        ready = false;
        health.shutdown();
        log.info({ grace_ms: graceMs }, "switchboard draining");
        await Promise.all(listeners.map((l) => l.close(graceMs)));
        await runtime.close();
        await transport.close();
        await tracing?.shutdown().catch((error: unknown) => log.warn({ err: error }, "traces not all exported at shutdown"));
        await operator?.close();
        await closeStore();
      })();
      return closing;
    },
  };
}
