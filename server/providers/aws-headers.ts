// An attempt's upstream headers (its trace context) on one AWS SDK command: a build-step
// middleware on that command alone, so SigV4 signs them like any other header and no other call
// of the shared client sees them.
import type { BuildHandlerArguments, BuildMiddleware, MiddlewareStack } from "@smithy/types";
import type { UpstreamHeaders } from "./provider.js";

function hasHeaders(request: unknown): request is { headers: Record<string, string> } {
  return typeof request === "object" && request !== null && typeof (request as { headers?: unknown }).headers === "object";
}

/** Adds `headers` to the HTTP request `command` will send; no-op without headers. */
export function addUpstreamHeaders<Input extends object, Output extends object>(command: { middlewareStack: MiddlewareStack<Input, Output> }, headers: UpstreamHeaders | undefined): void {
  if (headers === undefined) return;
  const middleware: BuildMiddleware<Input, Output> = (next) => (args: BuildHandlerArguments<Input>) => {
    if (hasHeaders(args.request)) Object.assign(args.request.headers, headers);
    return next(args);
  };
  command.middlewareStack.add(middleware, { step: "build", name: "switchboardUpstreamHeaders" });
}
