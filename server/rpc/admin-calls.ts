// The one implementation of AdminService behind both doors: admin authentication, then the store.
// Key changes are audited and announced (onKeysChanged), so the key directory refreshes.
import { createHash, timingSafeEqual } from "node:crypto";
import { create, type JsonObject } from "@bufbuild/protobuf";
import { timestampFromMs, timestampMs, type Timestamp } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  CreateKeyResponseSchema,
  ExportAuditResponseSchema,
  ExportLedgerResponseSchema,
  GetUsageResponseSchema,
  KeySchema,
  ListKeysResponseSchema,
  RevokeKeyResponseSchema,
  UsageBucket,
  UsageDimension,
  UsageTotalsSchema,
  VerifyAuditResponseSchema,
  type CreateKeyRequest,
  type CreateKeyResponse,
  type ExportAuditResponse,
  type ExportLedgerRequest,
  type ExportLedgerResponse,
  type GetUsageRequest,
  type GetUsageResponse,
  type Key,
  type LedgerFilter as ProtoLedgerFilter,
  type ListKeysRequest,
  type ListKeysResponse,
  type RevokeKeyRequest,
  type RevokeKeyResponse,
  type UsageTotals as ProtoUsageTotals,
  type VerifyAuditRequest,
  type VerifyAuditResponse,
} from "../../gen/switchboard/v1/admin_pb.js";
import { hashKey, newKeySecret } from "../store/key-secrets.js";
import {
  StoreError,
  type KeyInfo,
  type KeyRestrictions,
  type LedgerFilter,
  type LedgerRow,
  type Store,
  type UsageDimension as StoreDimension,
  type UsageTotals,
} from "../store/store.js";

/** What an admin call may know about its RPC, whichever door carried it. */
export type AdminContext = { header(name: string): string | undefined; signal: AbortSignal };

export type AdminDeps = {
  store: Store;
  /** The admin bearer secret in force now (a reload may change it); undefined: AdminService refuses. */
  adminKey(): string | undefined;
  /** After a key was created or revoked (the key directory refreshes). */
  onKeysChanged(): Promise<void>;
};

export type AdminCalls = {
  createKey(ctx: AdminContext, request: CreateKeyRequest): Promise<CreateKeyResponse>;
  revokeKey(ctx: AdminContext, request: RevokeKeyRequest): Promise<RevokeKeyResponse>;
  listKeys(ctx: AdminContext, request: ListKeysRequest): Promise<ListKeysResponse>;
  getUsage(ctx: AdminContext, request: GetUsageRequest): Promise<GetUsageResponse>;
  getBudget(ctx: AdminContext): Promise<never>;
  exportLedger(ctx: AdminContext, request: ExportLedgerRequest): AsyncGenerator<ExportLedgerResponse>;
  verifyAudit(ctx: AdminContext, request: VerifyAuditRequest): Promise<VerifyAuditResponse>;
  exportAudit(ctx: AdminContext): AsyncGenerator<ExportAuditResponse>;
};

const digest = (text: string) => createHash("sha256").update(text, "utf8").digest();

/** Timing-safe: both sides are hashed to equal length first, so neither length nor prefix leaks. */
export function authenticate(ctx: AdminContext, adminKey: string | undefined): void {
  if (adminKey === undefined) throw new ConnectError("AdminService is disabled: set auth.admin_key to use it", Code.Unauthenticated);
  const presented = /^Bearer\s+(.+)$/i.exec(ctx.header("authorization") ?? "")?.[1]?.trim();
  if (presented === undefined) throw new ConnectError("AdminService needs `authorization: Bearer <admin key>`", Code.Unauthenticated);
  if (!timingSafeEqual(digest(presented), digest(adminKey))) throw new ConnectError("the admin key is not valid", Code.Unauthenticated);
}

const STORE_CODES: Record<StoreError["code"], Code> = {
  not_found: Code.NotFound,
  already_exists: Code.AlreadyExists,
  failed_precondition: Code.FailedPrecondition,
  closed: Code.Unavailable,
  schema_too_new: Code.FailedPrecondition,
  write_failed: Code.Unavailable,
};

function fromStore(error: unknown): never {
  if (error instanceof StoreError) throw new ConnectError(error.message, STORE_CODES[error.code]);
  throw error;
}

const ms = (t: Timestamp | undefined) => (t === undefined ? undefined : timestampMs(t));
const msToTs = (value: number | undefined) => (value === undefined ? undefined : timestampFromMs(value));

function keyToProto(key: KeyInfo): Key {
  return create(KeySchema, {
    id: key.id,
    name: key.name,
    team: key.team,
    createdAt: timestampFromMs(key.createdAt),
    expiresAt: msToTs(key.expiresAt),
    revokedAt: msToTs(key.revokedAt),
    restrictions: key.restrictions as JsonObject,
    source: key.source,
  });
}

function filterFromProto(filter: ProtoLedgerFilter | undefined): LedgerFilter {
  if (filter === undefined) return {};
  const orUndefined = (s: string) => (s === "" ? undefined : s);
  return {
    from: ms(filter.from),
    to: ms(filter.to),
    team: orUndefined(filter.team),
    keyId: orUndefined(filter.keyId),
    alias: orUndefined(filter.alias),
    provider: orUndefined(filter.provider),
    model: orUndefined(filter.model),
  };
}

const DIMENSIONS: Record<UsageDimension, StoreDimension | undefined> = {
  [UsageDimension.UNSPECIFIED]: undefined,
  [UsageDimension.TEAM]: "team",
  [UsageDimension.KEY]: "key",
  [UsageDimension.ALIAS]: "alias",
  [UsageDimension.PROVIDER]: "provider",
  [UsageDimension.MODEL]: "model",
};

function totalsToProto(t: UsageTotals): ProtoUsageTotals {
  const input = t.tokens.uncachedInput + t.tokens.cacheRead + t.tokens.cacheWrite;
  return create(UsageTotalsSchema, {
    calls: BigInt(t.calls),
    errors: BigInt(t.errors),
    inputTokens: BigInt(input),
    uncachedInputTokens: BigInt(t.tokens.uncachedInput),
    cacheReadInputTokens: BigInt(t.tokens.cacheRead),
    cacheWriteInputTokens: BigInt(t.tokens.cacheWrite),
    outputTokens: BigInt(t.tokens.output),
    reasoningTokens: BigInt(t.tokens.reasoning),
    costNanoUsd: t.costNanoUsd,
    latencyP50Ms: Math.round(t.latencyP50Ms ?? 0),
    latencyP95Ms: Math.round(t.latencyP95Ms ?? 0),
    ttftP50Ms: Math.round(t.ttftP50Ms ?? 0),
    ttftP95Ms: Math.round(t.ttftP95Ms ?? 0),
  });
}

/** A ledger row as a JSON object, 64-bit values as decimal strings (as protobuf JSON writes them). */
export function ledgerRowJson(row: LedgerRow): string {
  return JSON.stringify(row, (_key, value: unknown) => (typeof value === "bigint" ? value.toString() : value));
}

export function createAdminCalls(deps: AdminDeps): AdminCalls {
  const { store } = deps;
  const admin = (ctx: AdminContext) => authenticate(ctx, deps.adminKey());
  return {
    async createKey(ctx, request) {
      admin(ctx);
      if (request.name === "") throw new ConnectError("name: a key needs a name", Code.InvalidArgument);
      if (request.team === "") throw new ConnectError("team: a key belongs to a team", Code.InvalidArgument);
      const secret = newKeySecret();
      const key = await store
        .createKey({ name: request.name, team: request.team, hash: hashKey(secret), expiresAt: ms(request.expiresAt), restrictions: (request.restrictions ?? {}) as KeyRestrictions })
        .catch(fromStore);
      await store.appendAudit({ time: Date.now(), kind: "key_created", actor: "admin", detail: { key_id: key.id, name: key.name, team: key.team } });
      await deps.onKeysChanged();
      return create(CreateKeyResponseSchema, { key: keyToProto(key), secret });
    },

    async revokeKey(ctx, request) {
      admin(ctx);
      if (request.id === "") throw new ConnectError("id: which key to revoke", Code.InvalidArgument);
      const key = await store.revokeKey(request.id).catch(fromStore);
      await store.appendAudit({ time: Date.now(), kind: "key_revoked", actor: "admin", detail: { key_id: key.id, name: key.name, team: key.team } });
      await deps.onKeysChanged();
      return create(RevokeKeyResponseSchema, { key: keyToProto(key) });
    },

    async listKeys(ctx, request) {
      admin(ctx);
      const keys = await store.listKeys(request.team === "" ? {} : { team: request.team });
      return create(ListKeysResponseSchema, { keys: keys.map(keyToProto) });
    },

    async getUsage(ctx, request) {
      admin(ctx);
      const groupBy = request.groupBy.map((d) => DIMENSIONS[d]).filter((d): d is StoreDimension => d !== undefined);
      const bucket = request.bucket === UsageBucket.HOUR ? "hour" : request.bucket === UsageBucket.DAY ? "day" : undefined;
      const report = await store.usage({ ...filterFromProto(request.filter), groupBy, bucket });
      return create(GetUsageResponseSchema, {
        totals: totalsToProto(report.totals),
        rows: report.rows.map((g) => ({
          bucketStart: msToTs(g.bucketStart),
          team: g.team ?? "",
          keyId: g.keyId ?? "",
          keyName: g.keyName ?? "",
          alias: g.alias ?? "",
          provider: g.provider ?? "",
          model: g.model ?? "",
          totals: totalsToProto(g),
        })),
      });
    },

    async getBudget(ctx) {
      admin(ctx);
      throw new ConnectError("GetBudget is not served yet: budgets are not wired into this gateway", Code.Unimplemented);
    },

    async *exportLedger(ctx, request) {
      admin(ctx);
      for await (const row of store.exportLedger(filterFromProto(request.filter))) {
        if (ctx.signal.aborted) return;
        yield create(ExportLedgerResponseSchema, { json: ledgerRowJson(row) });
      }
    },

    async verifyAudit(ctx, request) {
      admin(ctx);
      const verdict = await store.verifyAudit(request.expectHead === "" ? {} : { expectHead: request.expectHead });
      return create(VerifyAuditResponseSchema, {
        ok: verdict.ok,
        count: BigInt(verdict.count),
        head: verdict.head,
        firstBrokenSeq: BigInt(verdict.firstBroken?.seq ?? 0),
        firstBrokenReason: verdict.firstBroken?.reason ?? "",
      });
    },

    async *exportAudit(ctx) {
      admin(ctx);
      for await (const line of store.exportAudit()) {
        if (ctx.signal.aborted) return;
        yield create(ExportAuditResponseSchema, { json: JSON.stringify(line) });
      }
    },
  };
}
