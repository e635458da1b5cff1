// Who is calling: the virtual key in `authorization: Bearer sk-sb-…` or `x-api-key`. Every refusal is
// UNAUTHENTICATED and names at most the key's name — never the secret or its hash.
import { Code, ConnectError } from "@connectrpc/connect";
import type { InboundCall } from "./chain.js";
import type { KeyDirectory, KeyIdentity } from "./keys.js";

function unauthenticated(message: string): ConnectError {
  return new ConnectError(message, Code.Unauthenticated);
}

/** The secret the call presents, or the reason it presents none in a usable form. */
export function presentedSecret(call: Pick<InboundCall, "header">): string {
  const authorization = call.header("authorization");
  if (authorization !== undefined) {
    const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization);
    if (!match) throw unauthenticated('the authorization header must read "Bearer <virtual key>"');
    return match[1]!;
  }
  const apiKey = call.header("x-api-key")?.trim();
  if (apiKey) return apiKey;
  throw unauthenticated('no virtual key: send "authorization: Bearer <key>" or "x-api-key: <key>"');
}

export function authenticate(directory: KeyDirectory, call: Pick<InboundCall, "header">): KeyIdentity {
  const checked = directory.check(presentedSecret(call));
  if (checked.ok) return checked.identity;
  switch (checked.reason) {
    case "unknown":
      throw unauthenticated("unknown virtual key");
    case "expired":
      throw unauthenticated(`virtual key "${checked.name}" has expired`);
    case "revoked":
      throw unauthenticated(`virtual key "${checked.name}" has been revoked`);
    case "invalid":
      throw unauthenticated(`virtual key "${checked.name}" cannot be used: its stored restrictions are invalid`);
  }
}
