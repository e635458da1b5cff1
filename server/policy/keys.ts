// The key directory: every virtual key by the SHA-256 of its secret, in memory, so authenticating a
// call is one hash and one Map lookup — the store is read at start-up and on refresh() (after an
// admin creates or revokes a key), never per call. Config keys come from the config generation;
// run-time keys from the store (their restrictions are the `teams` entry shape plus `role`).
import { z } from "zod";
import type { GatewayConfig, TeamConfig } from "../config/schema.js";
import { teamSchema } from "../config/schema.js";
import type { Store, StoredKey } from "../store/store.js";
import { hashKey } from "../store/key-secrets.js";
import { compileAccess, defaultMetadata } from "./access.js";
import type { RouteAccess } from "./chain.js";
import { limitScope, type LimitScope } from "./limits/scopes.js";

/** Who a key is and what it may do, compiled for the config generation in force. */
export type KeyIdentity = {
  /** The store's key id for run-time keys; `config:<name>` for config keys. */
  id: string;
  name: string;
  team: string;
  role: "user" | "admin";
  source: "config" | "admin";
  expiresAt?: number;
  revokedAt?: number;
  access: RouteAccess;
  metadata?: Record<string, string>;
  limits: { key: LimitScope; team?: LimitScope };
};

export type KeyCheck =
  | { ok: true; identity: KeyIdentity }
  | { ok: false; reason: "unknown" | "expired" | "revoked" | "invalid"; name?: string };

/** The restrictions a run-time key stores (KeyInfo.restrictions): a team entry plus its role. */
export const storedRestrictionsSchema = teamSchema.extend({ role: z.enum(["user", "admin"]).default("user") });
export type StoredRestrictions = z.infer<typeof storedRestrictionsSchema>;

type Entry = { identity: KeyIdentity } | { invalid: string };

export type KeyDirectoryOptions = {
  store?: Store;
  clock?: () => number;
  /** A stored key whose restrictions do not parse is refused; this says why (never its hash). */
  warn?: (fields: object, message: string) => void;
};

export class KeyDirectory {
  #config: GatewayConfig;
  #configKeys = new Map<string, Entry>();
  #storedKeys: StoredKey[] = [];
  #stored = new Map<string, Entry>();
  #teamLimits = new Map<string, LimitScope>();
  readonly #store: Store | undefined;
  readonly #clock: () => number;
  readonly #warn: KeyDirectoryOptions["warn"];

  constructor(config: GatewayConfig, options: KeyDirectoryOptions = {}) {
    this.#store = options.store;
    this.#clock = options.clock ?? Date.now;
    this.#warn = options.warn;
    this.#config = config;
    this.reload(config);
  }

  /** A new config generation: config keys and teams are recompiled, run-time keys re-resolved. */
  reload(config: GatewayConfig): void {
    this.#config = config;
    this.#teamLimits = new Map(Object.entries(config.teams).map(([name, team]) => [name, limitScope("team", name, team)]));
    const entries = new Map<string, Entry>();
    for (const key of config.keys) {
      const hash = key.sha256 ?? hashKey(key.secret!);
      const expiresAt = key.expires_at === undefined ? undefined : Date.parse(key.expires_at);
      entries.set(hash, { identity: this.#compile({ id: `config:${key.name}`, name: key.name, team: key.team, role: key.role, source: "config", expiresAt }, key) });
    }
    this.#configKeys = entries;
    this.#resolveStored();
  }

  /** Re-reads the run-time keys from the store (the admin service calls this after create/revoke). */
  async refresh(): Promise<void> {
    if (!this.#store) return;
    this.#storedKeys = (await this.#store.loadKeys()).filter((key) => key.source === "admin");
    this.#resolveStored();
  }

  /** The key a secret belongs to and whether it may be used now. */
  check(secret: string): KeyCheck {
    const hash = hashKey(secret);
    const entry = this.#configKeys.get(hash) ?? this.#stored.get(hash);
    if (!entry) return { ok: false, reason: "unknown" };
    if ("invalid" in entry) return { ok: false, reason: "invalid", name: entry.invalid };
    const { identity } = entry;
    if (identity.revokedAt !== undefined && identity.revokedAt <= this.#clock()) return { ok: false, reason: "revoked", name: identity.name };
    if (identity.expiresAt !== undefined && identity.expiresAt <= this.#clock()) return { ok: false, reason: "expired", name: identity.name };
    return { ok: true, identity };
  }

  /** The identity of a usable key, or undefined (unknown, expired, revoked). */
  lookup(secret: string): KeyIdentity | undefined {
    const checked = this.check(secret);
    return checked.ok ? checked.identity : undefined;
  }

  /** The teams' limits and budgets of the config generation in force. */
  teamLimits(): ReadonlyMap<string, LimitScope> {
    return this.#teamLimits;
  }

  /** Every usable key's identity (for seeding budgets). */
  identities(): KeyIdentity[] {
    return [...this.#configKeys.values(), ...this.#stored.values()].flatMap((e) => ("identity" in e ? [e.identity] : []));
  }

  #resolveStored(): void {
    const entries = new Map<string, Entry>();
    for (const key of this.#storedKeys) {
      const parsed = storedRestrictionsSchema.safeParse(key.restrictions);
      if (!parsed.success) {
        this.#warn?.({ key: key.name }, "stored key has invalid restrictions: it is refused");
        entries.set(key.hash, { invalid: key.name });
        continue;
      }
      const { role, ...fields } = parsed.data;
      const base = { id: key.id, name: key.name, team: key.team, role, source: "admin" as const, expiresAt: key.expiresAt, revokedAt: key.revokedAt };
      entries.set(key.hash, { identity: this.#compile(base, fields) });
    }
    this.#stored = entries;
  }

  #compile(base: Omit<KeyIdentity, "access" | "metadata" | "limits">, fields: TeamConfig): KeyIdentity {
    const team = this.#config.teams[base.team];
    return {
      ...base,
      access: compileAccess(base.name, fields, team),
      metadata: defaultMetadata(fields, team),
      limits: { key: limitScope("key", base.name, fields), team: this.#teamLimits.get(base.team) },
    };
  }
}
