// The operator dashboard as one HTTP request handler, mounted at /dashboard by whatever listener
// serves operators: the page and its script, and the calls it makes — AdminService (usage, keys,
// budgets) and ListModels (circuit states) over Connect JSON under /dashboard/rpc/, so page and API
// share one origin wherever it is mounted. Every RPC needs the admin credential, which the page
// asks for and keeps in sessionStorage; the static files carry nothing secret.
import { readFileSync } from "node:fs";
import type http from "node:http";
import type http2 from "node:http2";
import { AdminService } from "../../gen/switchboard/v1/admin_pb.js";
import { InferenceService, type ListModelsResponse } from "../../gen/switchboard/v1/inference_pb.js";
import type { AdminCalls, AdminContext } from "../rpc/admin-calls.js";
import { createConnectDoor } from "../rpc/connect-door.js";

type Request = http.IncomingMessage | http2.Http2ServerRequest;
type Response = http.ServerResponse | http2.Http2ServerResponse;

/** True when the request was the dashboard's (answered or being answered); false: not under /dashboard. */
export type DashboardHandler = (req: Request, res: Response) => boolean;

export type DashboardDeps = {
  admin: AdminCalls;
  /** Throws UNAUTHENTICATED unless the context carries the admin credential in force. */
  authenticate(ctx: AdminContext): void;
  /** Every alias with its targets' live state. */
  listModels(): ListModelsResponse;
};

export const DASHBOARD_PATH = "/dashboard";
const RPC_PREFIX = `${DASHBOARD_PATH}/rpc`;

const asset = (name: string) => readFileSync(new URL(`./assets/${name}`, import.meta.url));

const SECURITY_HEADERS = {
  "cache-control": "no-store",
  "content-security-policy": "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

export function createDashboardHandler(deps: DashboardDeps): DashboardHandler {
  // Read once when the gateway starts, never per request.
  const files = new Map<string, { type: string; body: Buffer }>([
    ["/", { type: "text/html; charset=utf-8", body: asset("index.html") }],
    ["/app.js", { type: "text/javascript; charset=utf-8", body: asset("app.js") }],
    ["/app.css", { type: "text/css; charset=utf-8", body: asset("app.css") }],
  ]);
  const rpc = createConnectDoor({
    routes(router) {
      router.service(AdminService, {
        getUsage: (request, ctx) => deps.admin.getUsage(fromConnect(ctx), request),
        listKeys: (request, ctx) => deps.admin.listKeys(fromConnect(ctx), request),
        getBudget: (request, ctx) => deps.admin.getBudget(fromConnect(ctx), request),
      });
      router.rpc(InferenceService.method.listModels, (_request, ctx) => {
        deps.authenticate(fromConnect(ctx));
        return deps.listModels();
      });
    },
  });

  return (req, res) => {
    const path = (req.url ?? "").split("?", 1)[0];
    if (path !== DASHBOARD_PATH && !path.startsWith(`${DASHBOARD_PATH}/`)) return false;
    if (path.startsWith(`${RPC_PREFIX}/`)) {
      // The Connect router knows the bare /package.Service/Method paths.
      req.url = (req.url ?? "").slice(RPC_PREFIX.length);
      rpc(req, res);
      return true;
    }
    if (path === DASHBOARD_PATH) {
      const query = (req.url ?? "").slice(path.length);
      res.writeHead(308, { location: `${DASHBOARD_PATH}/${query}`, ...SECURITY_HEADERS });
      res.end();
      return true;
    }
    const file = files.get(path.slice(DASHBOARD_PATH.length));
    if (file === undefined || (req.method !== "GET" && req.method !== "HEAD")) {
      res.writeHead(file === undefined ? 404 : 405, { "content-type": "text/plain; charset=utf-8", ...SECURITY_HEADERS });
      res.end(file === undefined ? "not found\n" : "method not allowed\n");
      return true;
    }
    res.writeHead(200, { "content-type": file.type, "content-length": String(file.body.length), ...SECURITY_HEADERS });
    if (req.method === "HEAD") res.end();
    else res.end(file.body);
    return true;
  };
}

function fromConnect(ctx: { requestHeader: Headers; signal: AbortSignal }): AdminContext {
  return { header: (name) => ctx.requestHeader.get(name) ?? undefined, signal: ctx.signal };
}
