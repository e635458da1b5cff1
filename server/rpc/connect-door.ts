// The connect-node door: Connect, gRPC-Web (and gRPC, where it serves HTTP/2) as a Node request
// handler. connectNodeAdapter's routing, plus the correction of connect-node's status for a body
// that fails to decode (decode-failure.ts).
import { Code, ConnectError, createConnectRouter, type ConnectRouter, type ConnectRouterOptions } from "@connectrpc/connect";
import { compressionBrotli, compressionGzip, universalRequestFromNodeRequest, universalResponseToNodeResponse } from "@connectrpc/connect-node";
import type { UniversalHandler } from "@connectrpc/connect/protocol";
import type { Handler } from "../listen.js";
import { correctDecodeFailure } from "./decode-failure.js";

export type ConnectDoorOptions = ConnectRouterOptions & { routes(router: ConnectRouter): void };

export function createConnectDoor(options: ConnectDoorOptions): Handler {
  const router = createConnectRouter({ acceptCompression: [compressionGzip, compressionBrotli], ...options });
  options.routes(router);
  const paths = new Map<string, UniversalHandler>();
  for (const handler of router.handlers) paths.set(handler.requestPath, handler);
  return (req, res) => {
    const handler = paths.get((req.url ?? "").split("?", 1)[0]);
    if (handler === undefined) {
      // gRPC and gRPC-Web callers expect UNIMPLEMENTED as a status, not a bare HTTP 404.
      const grpc = /^application\/grpc/.test(req.headers["content-type"] ?? "");
      res.writeHead(grpc ? 200 : 404, grpc ? { "content-type": req.headers["content-type"], "grpc-status": String(Code.Unimplemented), "grpc-message": "unknown method" } : {});
      res.end();
      return;
    }
    const request = universalRequestFromNodeRequest(req, res, undefined, undefined);
    handler(request)
      .then((response) => correctDecodeFailure(request, response))
      .then((response) => universalResponseToNodeResponse(response, res))
      .catch((reason: unknown) => {
        // A caller that went away mid-answer; nothing left to tell it.
        if (ConnectError.from(reason).code === Code.Aborted) return;
        res.destroy();
      });
  };
}
