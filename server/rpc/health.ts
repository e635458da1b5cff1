// grpc.health.v1.Health: Check, List and Watch over a per-service status table. The empty service
// name "" is the server as a whole.
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import {
  Health,
  HealthCheckResponseSchema,
  HealthCheckResponse_ServingStatus as Status,
  HealthListResponseSchema,
} from "../../gen/grpc/health/v1/health_pb.js";

export { Status as ServingStatus };

export class HealthStatus {
  private readonly statuses = new Map<string, Status>();
  private readonly watchers = new Set<() => void>();

  set(service: string, status: Status): void {
    if (this.statuses.get(service) === status) return;
    this.statuses.set(service, status);
    for (const wake of this.watchers) wake();
  }

  get(service: string): Status | undefined {
    return this.statuses.get(service);
  }

  private stopping = false;

  /** Marks every service NOT_SERVING (on shutdown) so load balancers drain the node. */
  shutdown(): void {
    this.stopping = true;
    for (const service of this.statuses.keys()) this.set(service, Status.NOT_SERVING);
    for (const wake of this.watchers) wake();
  }

  /** True once shutdown began: Watch streams end after telling NOT_SERVING, so they do not hold the drain open. */
  get shuttingDown(): boolean {
    return this.stopping;
  }

  all(): Map<string, Status> {
    return new Map(this.statuses);
  }

  /** Resolves on the next change, or when the signal aborts. */
  changed(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        this.watchers.delete(wake);
        signal.removeEventListener("abort", wake);
        resolve();
      };
      this.watchers.add(wake);
      signal.addEventListener("abort", wake, { once: true });
    });
  }
}

export function createHealthService(health: HealthStatus): ServiceImpl<typeof Health> {
  return {
    check(request) {
      const status = health.get(request.service);
      if (status === undefined) throw new ConnectError(`unknown service "${request.service}"`, Code.NotFound);
      return create(HealthCheckResponseSchema, { status });
    },
    list() {
      const statuses: Record<string, { status: Status }> = {};
      for (const [service, status] of health.all()) statuses[service] = { status };
      return create(HealthListResponseSchema, { statuses });
    },
    async *watch(request, ctx) {
      let last: Status | undefined;
      while (!ctx.signal.aborted) {
        const status = health.get(request.service) ?? Status.SERVICE_UNKNOWN;
        if (status !== last) {
          last = status;
          yield create(HealthCheckResponseSchema, { status });
        }
        if (health.shuttingDown) return;
        await health.changed(ctx.signal);
      }
    },
  };
}
