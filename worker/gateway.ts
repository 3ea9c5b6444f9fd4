/**
 * Per-request flow of the gateway: status page, first-snapshot wait, one hot-path decision
 * (route → policies → group → instance, in WASM), then the proxy. One Gateway per isolate.
 */
import { DecideStatus, HotPath } from "../wasm/host.ts";
import type { GatewayConfig } from "./env.ts";
import { proxyRequest } from "./proxy.ts";
import { RequestAttributes } from "./request-attributes.ts";
import { errorResponse } from "./responses.ts";
import { SnapshotSource } from "./snapshot-source.ts";

export class Gateway {
  private readonly config: GatewayConfig;
  private readonly hot: HotPath;
  readonly source: SnapshotSource;

  constructor(config: GatewayConfig, module: WebAssembly.Module) {
    this.config = config;
    // Instantiating a precompiled module is allowed in Workers (compiling one is not).
    this.hot = new HotPath(new WebAssembly.Instance(module, {}));
    this.source = new SnapshotSource(config, this.hot);
  }

  async handle(request: Request, ctx: ExecutionContext): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === this.config.statusPath) return this.status();
    if (this.source.state.version === null && !(await this.source.ready())) {
      return errorResponse("no_snapshot", `no routing snapshot yet: ${this.source.state.lastError ?? "waiting for control"}`);
    }
    this.source.maybeRefresh(ctx);

    const d = this.hot.decide(new RequestAttributes(url, request.method, request.headers));
    if (d.status === DecideStatus.NO_ROUTE) return errorResponse("no_route", `no route for ${url.hostname}${url.pathname}`);
    if (d.status === DecideStatus.NO_SNAPSHOT) return errorResponse("no_snapshot", "no routing snapshot loaded");
    const snapshot = this.hot.snapshot;
    const group = snapshot.groups[d.group];
    if (d.status === DecideStatus.NO_INSTANCE || !group) {
      return errorResponse("no_instance", `group '${group?.name ?? d.group}' has no available instance`);
    }
    const instance = snapshot.instances[d.instance];
    const route = snapshot.routes[d.route];
    if (!instance || !route) return errorResponse("no_instance", "decision referred to a missing instance");
    return proxyRequest(
      request,
      url,
      { host: instance.host, port: instance.port, timeoutMs: route.timeoutMs },
      request.headers.get("cf-connecting-ip"),
    );
  }

  /** The isolate's view of its snapshot: version, age and the last refresh error. No secrets. */
  private status(): Response {
    const s = this.source.state;
    const now = Date.now();
    return Response.json(
      {
        snapshotVersion: s.version === null ? null : String(s.version),
        snapshotAgeMs: s.builtAtMs === null ? null : now - s.builtAtMs,
        lastContactAgoMs: s.lastContactMs === null ? null : now - s.lastContactMs,
        lastError: s.lastError,
        rejectedSnapshots: s.rejected,
      },
      { headers: { "cache-control": "no-store" } },
    );
  }
}
