/**
 * Per-request flow of the gateway: status page, first-snapshot wait, one hot-path decision
 * (route → policies → group → instance, in WASM), then the proxy. One Gateway per isolate.
 */
import { DecideStatus, HotPath } from "../wasm/host.ts";
import { readBodyPrefix } from "./body.ts";
import type { GatewayConfig } from "./env.ts";
import { type ForwardScope, forward } from "./forward.ts";
import { RequestAttributes } from "./request-attributes.ts";
import { requestTarget } from "./request-target.ts";
import { errorResponse } from "./responses.ts";
import { SnapshotSource, type WaitUntil } from "./snapshot-source.ts";
import { bearerMatches } from "./status-token.ts";

export class Gateway {
  private readonly config: GatewayConfig;
  private readonly hot: HotPath;
  readonly source: SnapshotSource;
  /** Decisions made and conditions that errored in them (each counted as not matching), per isolate. */
  private decisions = 0;
  private conditionErrors = 0;
  private panics = 0;
  private readonly scope: ForwardScope;

  constructor(config: GatewayConfig, module: WebAssembly.Module) {
    this.config = config;
    // Instantiating a precompiled module is allowed in Workers (compiling one is not).
    this.hot = new HotPath(new WebAssembly.Instance(module, {}));
    this.hot.setCaller(config.zone, config.region);
    this.source = new SnapshotSource(config, this.hot);
    this.scope = { hot: this.hot, waiters: new Map(), counts: new Map(), retries: 0 };
  }

  async handle(request: Request, ctx: WaitUntil): Promise<Response> {
    const target = requestTarget(request);
    if (!target.ok) return target.response;
    const { url } = target;
    if (url.pathname === this.config.statusPath && this.config.statusToken) {
      return bearerMatches(request.headers.get("authorization"), this.config.statusToken)
        ? this.status()
        : Response.json({ error: "unauthorized", message: "the status document needs the status token" }, { status: 401 });
    }
    if (this.source.state.version === null && !(await this.source.ready(ctx))) {
      return errorResponse("no_snapshot", `no routing snapshot yet: ${this.source.state.lastError ?? "waiting for control"}`);
    }
    const sync = this.source.beforeRoute(ctx);
    if (sync) await sync;

    const { clientIp, laneHeader, cellHeader } = this.config;
    const attributes = new RequestAttributes(url, request.method, request.headers, request.cf, clientIp, laneHeader, cellHeader);
    // Body attributes: read at most the route's cap, only when the matched route's policies read
    // the body, and forward the same bytes. The decision writes the whole frame again after the
    // await, synchronously, so a request interleaving here cannot leave its values in it.
    let body: ReadableStream<Uint8Array> | Uint8Array | null | undefined;
    let known = -1;
    const snapshot = this.hot.snapshot;
    if (snapshot.readsBody && request.body) {
      const route = this.hot.route(attributes);
      const r = snapshot.routes[route];
      if (r?.readsBody) {
        const prefix = await readBodyPrefix(request, r.bodyCapBytes);
        attributes.setBody(prefix.bytes);
        body = prefix.forward;
        if (this.hot.snapshot === snapshot) known = route; // no new snapshot while reading
      }
    }
    // Read once, after any body read: the balancers' time and the start of the request's deadline.
    const nowMs = Date.now();
    const d = known >= 0 ? this.hot.decidePolicies(known, attributes, nowMs) : this.hot.decide(attributes, nowMs);
    this.decisions += 1;
    this.conditionErrors += d.conditionErrors;
    if (d.status === DecideStatus.NO_ROUTE) return errorResponse("no_route", `no route for ${url.hostname}${url.pathname}`);
    if (d.status === DecideStatus.NO_SNAPSHOT) return errorResponse("no_snapshot", "no routing snapshot loaded");
    const group = this.hot.snapshot.groups[d.group];
    if (d.status === DecideStatus.NO_INSTANCE || !group) {
      return errorResponse("no_instance", `group '${group?.name ?? d.group}' has no available instance`);
    }
    if (d.panic) this.panics += 1;
    const decided = { route: d.route, group: d.group, instance: d.instance, probe: d.probe, atMs: nowMs };
    const proxied = forward(this.scope, request, url, attributes, decided, attributes.peer() ?? null, body);
    return this.config.versionHeader ? withVersion(proxied, this.source.state.version) : proxied;
  }

  /**
   * This isolate's balancing state, for operators and the fault tests: per group its counters
   * (Envoy's lb_healthy_panic, upstream_rq_pending_overflow, retry overflow, outlier ejections
   * enforced) and per instance its passive health and this isolate's attempt counts.
   */
  private balancingStatus() {
    const { hot, counts } = this.scope;
    const snapshot = hot.snapshot;
    // Attempt counts of instances that left the snapshot are dropped here, when someone looks.
    const present = new Set(snapshot.instances.map((i) => i.id));
    for (const id of counts.keys()) if (!present.has(id)) counts.delete(id);
    return {
      retries: this.scope.retries,
      panicDecisions: this.panics,
      groups: snapshot.groups.map((group, g) => {
        const c = hot.groupCounters(g);
        return {
          id: group.id,
          name: group.name,
          panicCount: c.panic,
          overflowCount: c.overflow,
          retryOverflowCount: c.retryOverflow,
          outlierEnforcedCount: c.outlierEnforced,
          instances: snapshot.instances.slice(group.firstInstance, group.firstInstance + group.instanceCount).map((instance, k) => {
            const seen = counts.get(instance.id);
            return {
              id: instance.id,
              address: `${instance.host}:${instance.port}`,
              ...hot.instanceHealth(group.firstInstance + k),
              attempts: seen?.attempts ?? 0,
              failures: seen?.failures ?? 0,
            };
          }),
        };
      }),
    };
  }

  /**
   * Where the launcher put this process (worker/env.ts ProcessPlace): its slot, how many times that
   * slot has been restarted (this start included) and the cluster's restarts then, and when it was
   * started (ISO 8601). Null when no launcher of Sluice's started it (Cloudflare, wrangler).
   */
  private processStatus() {
    const p = this.config.process;
    if (!p) return null;
    return { slot: p.slot, restarts: p.restarts, clusterRestarts: p.clusterRestarts, startedAt: new Date(p.startedAtMs).toISOString() };
  }

  /** The isolate's view of its snapshot: version, age and the last refresh error; its process. No secrets. */
  private status(): Response {
    const s = this.source.state;
    const now = Date.now();
    return Response.json(
      {
        process: this.processStatus(),
        snapshotVersion: s.version === null ? null : String(s.version),
        snapshotAgeMs: s.builtAtMs === null ? null : now - s.builtAtMs,
        lastContactAgoMs: s.lastContactMs === null ? null : now - s.lastContactMs,
        lastError: s.lastError,
        rejectedSnapshots: s.rejected,
        gatewayId: s.gatewayId,
        polling: s.polling,
        decisions: this.decisions,
        conditionErrors: this.conditionErrors,
        balancing: this.balancingStatus(),
      },
      { headers: { "cache-control": "no-store" } },
    );
  }
}

/** Labels an answer with the snapshot version that routed it (SNAPSHOT_VERSION_HEADER=1). */
async function withVersion(proxied: Promise<Response>, version: bigint | null): Promise<Response> {
  // An upstream's response passed through has immutable headers: re-wrap it (debug path only).
  const upstream = await proxied;
  const response = new Response(upstream.body, upstream);
  response.headers.set("sluice-snapshot-version", String(version));
  return response;
}
