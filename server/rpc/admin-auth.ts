// Who may call AdminService: the admin bearer secret (auth.admin_key) or a virtual key with
// `role: admin` is an administrator; any other usable virtual key is its team's reader, limited to
// its own team's usage and budgets. Everyone else is UNAUTHENTICATED.
import { createHash, timingSafeEqual } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import type { KeyCheck } from "../policy/keys.js";

export type AdminPrincipal = { kind: "admin" } | { kind: "team"; team: string; keyName: string };

export type AdminCredentials = {
  /** The admin bearer secret in force now (a reload may change it). */
  adminKey(): string | undefined;
  /** The virtual keys in force (the key directory); undefined while auth.mode is none. */
  keys(): { check(secret: string): KeyCheck } | undefined;
};

const digest = (text: string) => createHash("sha256").update(text, "utf8").digest();

/** Timing-safe: both sides are hashed to equal length first, so neither length nor prefix leaks. */
function sameSecret(presented: string, expected: string): boolean {
  return timingSafeEqual(digest(presented), digest(expected));
}

export function identifyAdmin(header: (name: string) => string | undefined, credentials: AdminCredentials): AdminPrincipal {
  const adminKey = credentials.adminKey();
  const keys = credentials.keys();
  const presented = /^Bearer\s+(.+)$/i.exec(header("authorization") ?? "")?.[1]?.trim() ?? header("x-api-key")?.trim();
  if (adminKey === undefined && keys === undefined) {
    throw new ConnectError("AdminService is disabled: set auth.admin_key to use it", Code.Unauthenticated);
  }
  if (presented === undefined || presented === "") {
    throw new ConnectError("AdminService needs `authorization: Bearer <admin key>` (auth.admin_key or a key with role: admin)", Code.Unauthenticated);
  }
  if (adminKey !== undefined && sameSecret(presented, adminKey)) return { kind: "admin" };
  const checked = keys?.check(presented);
  if (checked?.ok) return checked.identity.role === "admin" ? { kind: "admin" } : { kind: "team", team: checked.identity.team, keyName: checked.identity.name };
  if (checked && !checked.ok && checked.name !== undefined) {
    throw new ConnectError(`virtual key "${checked.name}" cannot be used: it is ${checked.reason}`, Code.Unauthenticated);
  }
  throw new ConnectError("the admin key is not valid", Code.Unauthenticated);
}

/** Administrators only; a team key is told what it may do instead. */
export function requireAdmin(principal: AdminPrincipal, method: string): void {
  if (principal.kind === "admin") return;
  throw new ConnectError(
    `${method} needs an admin credential; key "${principal.keyName}" (team ${principal.team}) may call GetUsage and GetBudget for its own team only`,
    Code.PermissionDenied,
  );
}

/** The team a team key may read; PERMISSION_DENIED when it asks for another one. */
export function teamScope(principal: AdminPrincipal, requestedTeam: string | undefined): string | undefined {
  if (principal.kind === "admin") return requestedTeam;
  if (requestedTeam !== undefined && requestedTeam !== principal.team) {
    throw new ConnectError(`key "${principal.keyName}" may read team ${principal.team}'s usage only, not team ${requestedTeam}'s`, Code.PermissionDenied);
  }
  return principal.team;
}
