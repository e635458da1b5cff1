// What a key may reach: alias globs (a key without `models` has its team's), provider and region
// allow-lists (the key's and the team's both apply), and default request metadata. Compiled once
// per config generation or key refresh, so a call only runs a precompiled RegExp.
import { Code, ConnectError } from "@connectrpc/connect";
import type { RouteAccess } from "./chain.js";

/** The access fields of a team or a key, as configured. */
export type AccessFields = {
  models?: readonly string[];
  providers?: readonly string[];
  regions?: readonly string[];
  metadata?: Readonly<Record<string, string>>;
};

function globToRegExp(globs: readonly string[]): RegExp {
  const alternatives = globs.map((glob) =>
    glob
      .split("")
      .map((c) => (c === "*" ? ".*" : c === "?" ? "." : c.replace(/[\\^$.|+()[\]{}]/g, "\\$&")))
      .join(""),
  );
  return new RegExp(`^(?:${alternatives.join("|")})$`);
}

/** A glob list as a predicate; undefined globs allow every alias. */
export function aliasMatcher(globs: readonly string[] | undefined): (alias: string) => boolean {
  if (globs === undefined) return () => true;
  const pattern = globToRegExp(globs);
  return (alias) => pattern.test(alias);
}

export function permissionDenied(keyName: string, alias: string): ConnectError {
  return new ConnectError(`key "${keyName}" may not use model alias "${alias}"`, Code.PermissionDenied);
}

/** The route restrictions of one key in its team. */
export function compileAccess(keyName: string, key: AccessFields, team: AccessFields | undefined): RouteAccess {
  const allowAlias = aliasMatcher(key.models ?? team?.models);
  const providers = [team?.providers, key.providers].filter((list): list is readonly string[] => list !== undefined);
  const regions = [team?.regions, key.regions].filter((list): list is readonly string[] => list !== undefined);
  return { allowAlias, denied: (alias) => permissionDenied(keyName, alias), providers, regions, describe: `key "${keyName}"` };
}

/** The metadata defaults a key's calls get: the team's, then the key's (the request's own values win later). */
export function defaultMetadata(key: AccessFields, team: AccessFields | undefined): Record<string, string> | undefined {
  if (!key.metadata && !team?.metadata) return undefined;
  return { ...team?.metadata, ...key.metadata };
}
