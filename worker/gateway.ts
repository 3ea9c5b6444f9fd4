/**
 * Per-request flow of the gateway: status page, first-snapshot wait, one hot-path decision
 * (route → policies → group → instance, in WASM) — preceded, on a route with plugins, by its
 * access control, limits and rewrites (worker/plugins/) — then the proxy; and around it the request's
 * telemetry (X-Request-Id, metrics, access log: worker/telemetry/). A decision that lands on a
 * function's entry group goes on to the function's version (worker/functions/). One Gateway per
 * isolate.
 */
import { readFunctionsSection } from "../wasm/functions-section.ts";
import { DecideStatus, HotPath } from "../wasm/host.ts";
import { readBodyPrefix } from "./body.ts";
import type { GatewayConfig } from "./env.ts";
import { type ForwardScope, forward } from "./forward.ts";
import { postActivation } from "./functions/activation-poke.ts";
import { Activator } from "./functions/activator.ts";
import { chooseVersion } from "./functions/choose-version.ts";
import { FunctionLoad } from "./functions/load.ts";
import { controlCodeSource, type LoaderBinding, LoaderRunner } from "./functions/loader.ts";
import { FunctionRouter } from "./functions/router.ts";
import { type FunctionTable, functionTable } from "./functions/table.ts";
import { newPluginContext, type PluginContext } from "./plugins/context.ts";
import { PluginTable, withFinishers, withResponseEdits } from "./plugins/pipeline.ts";
import { buildPluginTable, PluginIsolate, type RedisSocket } from "./plugins/registry.ts";
import { RequestAttributes } from "./request-attributes.ts";
import { requestTarget } from "./request-target.ts";
import { errorResponse } from "./responses.ts";
import { log, type SnapshotLoader, SnapshotSource, type WaitUntil } from "./snapshot-source.ts";
import { bearerMatches } from "./status-token.ts";
import { AccessLog, isoTime } from "./telemetry/access-log.ts";
import { type Exchange, newExchange } from "./telemetry/exchange.ts";
import { MetricsAggregator } from "./telemetry/metrics.ts";
import { TelemetryPusher } from "./telemetry/pusher.ts";
import { REQUEST_ID_HEADER, requestId } from "./telemetry/request-id.ts";
import { createTracer, type Tracer } from "./telemetry/tracer.ts";
import type { InstanceRef, MetricsPush } from "./telemetry/wire.ts";

export class Gateway {
  private readonly config: GatewayConfig;
  private readonly hot: HotPath;
  readonly source: SnapshotSource;
  /** Decisions made and conditions that errored in them (each counted as not matching), per isolate. */
  private decisions = 0;
  private conditionErrors = 0;
  private panics = 0;
  /** Requests being served now (`http_server_active_requests`). */
  private active = 0;
  private readonly scope: ForwardScope;
  private readonly metrics: MetricsAggregator;
  private readonly accessLog: AccessLog;
  private readonly tracer: Tracer;
  private readonly pusher: TelemetryPusher;
  /** The last reason control refused a push, logged once until it changes. */
  private pushRefusal: string | null = null;
  private readonly activator: Activator;
  private readonly functionLoad: FunctionLoad;
  private readonly functions: FunctionRouter;
  /** The last reason an activation poke failed, logged once until it changes. */
  private pokeFailure: string | null = null;
  /** The active snapshot's route plugins (worker/plugins/), swapped with it. */
  private plugins: PluginTable = PluginTable.NONE;
  /** Plugin state that outlives snapshot swaps: local limit counters, the cluster store, anti-scraping's per-client rates. */
  private readonly pluginIsolate: PluginIsolate;

  /**
   * @param loaderBinding the Worker Loader binding (env.LOADER), used when config.functionRunner
   *   is `loader`.
   * @param redisSocket the runtime's TCP connect for cluster limits' Redis (worker/plugins/limits/
   *   socket.ts), and whether one connection may serve several requests (not on workerd); none:
   *   cluster limits fail as each is configured.
   * @throws Error when config.functionRunner is `loader` and no binding is given (Bun, Deno).
   */
  constructor(config: GatewayConfig, module: WebAssembly.Module, loaderBinding?: LoaderBinding, redisSocket?: RedisSocket) {
    if (config.functionRunner === "loader" && !loaderBinding) {
      throw new Error("binding FUNCTION_RUNNER=loader needs the Worker Loader binding LOADER (workerd or Cloudflare)");
    }
    this.config = config;
    // Instantiating a precompiled module is allowed in Workers (compiling one is not).
    this.hot = new HotPath(new WebAssembly.Instance(module, {}));
    this.hot.setCaller(config.zone, config.region);
    const loader: SnapshotLoader = { load: (file) => this.loadSnapshot(file) };
    this.source = new SnapshotSource(config, loader);
    this.metrics = new MetricsAggregator(config.metricsMaxSeries, config.metricsPushMs > 0);
    this.accessLog = new AccessLog(config.accessLog);
    this.tracer = createTracer(config.trace);
    this.scope = { hot: this.hot, waiters: new Map(), counts: new Map(), retries: 0, metrics: this.metrics };
    this.activator = new Activator({
      maxBuffered: config.functionBufferMax,
      pokeIntervalMs: ACTIVATION_POKE_MS,
      poke: (version) => {
        // Held at most until the next poke; an instance control names ready releases the buffer at once.
        void postActivation(config, this.source.state.gatewayId, version, ACTIVATION_POKE_MS, (reason) => {
          const message = `activation poke for ${version.appkey}/${version.function}@${version.version} failed: ${reason}`;
          if (message !== this.pokeFailure) log("warn", message);
          this.pokeFailure = message;
        }).then((ready) => this.activator.direct(version.groupId, ready));
      },
    });
    this.functionLoad = new FunctionLoad(Date.now());
    this.pluginIsolate = new PluginIsolate(config, redisSocket?.connect ?? null, redisSocket?.reuseConnection ?? false);
    this.functions = new FunctionRouter({
      scope: this.scope,
      activator: this.activator,
      load: this.functionLoad,
      choose: chooseVersion,
      random: Math.random,
      ...(config.functionRunner === "loader" && loaderBinding
        ? { loader: new LoaderRunner(loaderBinding, controlCodeSource(config.controlUrl, config.gatewayToken)) }
        : {}),
    });
    this.pusher = new TelemetryPusher(
      {
        controlUrl: config.controlUrl,
        gatewayToken: config.gatewayToken,
        pushMs: config.metricsPushMs,
        functionPushMs: config.functionMetricsPushMs,
      },
      {
        aggregator: this.metrics,
        gatewayId: () => this.source.state.gatewayId,
        slot: config.process?.slot ?? null,
        gauges: () => this.gauges(),
        flush: () => {
          this.accessLog.flush();
          return this.tracer.flush();
        },
        refused: (status, message) => {
          const reason = `control refused a metrics push (${status}): ${message}`;
          if (reason !== this.pushRefusal) log("warn", reason);
          this.pushRefusal = reason;
        },
        functions: {
          active: () => this.functionLoad.active,
          drain: (nowMs) => this.functionLoad.drain(nowMs, (groupId) => this.activator.bufferedOf(groupId)),
        },
      },
    );
  }

  /**
   * Loads a verified snapshot file: its FUNCTIONS and PLUGINS sections (a malformed one refuses
   * the file like any invalid snapshot: the last good keeps serving), then the hot path; then the
   * function table and the route plugins are swapped and the activation buffer re-checked
   * against the new instances.
   */
  private loadSnapshot(file: Uint8Array<ArrayBuffer>): { ok: true } | { ok: false; reason: string } {
    let table: FunctionTable;
    try {
      table = functionTable(readFunctionsSection(file));
    } catch (error) {
      return { ok: false, reason: `malformed FUNCTIONS section: ${(error as Error).message}` };
    }
    let plugins: PluginTable;
    try {
      plugins = buildPluginTable(file, this.pluginIsolate);
    } catch (error) {
      return { ok: false, reason: `malformed PLUGINS section: ${(error as Error).message}` };
    }
    const loaded = this.hot.load(file);
    if (!loaded.ok) return loaded;
    this.functions.loaded(table);
    this.plugins = plugins;
    return { ok: true };
  }

  /**
   * Serves one request and records it: its X-Request-Id (kept or generated) goes upstream and
   * back; once the response headers are ready it is counted in the isolate's metrics and written
   * to the access log. The status document is neither counted nor logged.
   */
  async handle(request: Request, ctx: WaitUntil): Promise<Response> {
    const arrivedMs = Date.now();
    const started = performance.now();
    const headers = request.headers;
    // Without a trace endpoint the trace headers are not even read (they pass through untouched).
    const trace =
      this.config.trace.endpoint === null ? null : this.tracer.begin(headers.get("traceparent"), headers.get("tracestate"), arrivedMs);
    const exchange = newExchange(requestId(headers.get(REQUEST_ID_HEADER)), trace);
    this.pusher.touch(ctx, arrivedMs);
    this.active += 1;
    let response: Response | null = null;
    try {
      response = await this.serve(request, ctx, exchange);
    } finally {
      this.active -= 1;
      // A throw (a defect) reaches the runtime, which answers 500: counted as such.
      if (response !== STATUS_DOCUMENT_MARK) this.record(request, exchange, response?.status ?? 500, arrivedMs, started, response);
      // Again at the end: a request that outlasted the loop's idle stop (METRICS_PUSH_MS after the
      // last arrival) has just queued its metrics, access-log line and spans, which need a flush.
      this.pusher.touch(ctx, Date.now());
    }
    return response === STATUS_DOCUMENT_MARK ? this.status() : withHeader(response, REQUEST_ID_HEADER, exchange.requestId);
  }

  /** The request's response: the upstream's, a gateway error, or STATUS_DOCUMENT_MARK for the status document. */
  private async serve(request: Request, ctx: WaitUntil, exchange: Exchange): Promise<Response> {
    const target = requestTarget(request);
    if (!target.ok) return target.response;
    const { url } = target;
    if (url.pathname === this.config.statusPath && this.config.statusToken) {
      return bearerMatches(request.headers.get("authorization"), this.config.statusToken)
        ? STATUS_DOCUMENT_MARK
        : Response.json({ error: "unauthorized", message: "the status document needs the status token" }, { status: 401 });
    }
    if (this.source.state.version === null && !(await this.source.ready(ctx))) {
      return errorResponse("no_snapshot", `no routing snapshot yet: ${this.source.state.lastError ?? "waiting for control"}`);
    }
    const sync = this.source.beforeRoute(ctx);
    if (sync) await sync;

    const { clientIp, laneHeader, cellHeader } = this.config;
    const attributes = new RequestAttributes(url, request.method, request.headers, request.cf, clientIp, laneHeader, cellHeader);
    exchange.url = url;
    exchange.client = attributes;
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
    let nowMs = Date.now();
    // The route's plugins (docs/edge-protection.md) run before its policies, which may read the
    // consumer they recognise. A snapshot without plugins skips all of this (one boolean).
    let plugins: PluginContext | null = null;
    /** Anti-scraping's suspect group: its GROUPS index and id in the snapshot the plugins ran on. */
    let suspect: { index: number; id: number } | null = null;
    if (!this.plugins.empty) {
      const active = this.hot.snapshot;
      const route = known >= 0 ? known : this.hot.route(attributes);
      const routeId = route >= 0 ? (active.routes[route] as { id: number }).id : -1;
      const pipeline = routeId >= 0 ? this.plugins.get(routeId) : undefined;
      if (route >= 0) known = route; // found on the active snapshot, synchronously: no second lookup
      if (pipeline) {
        const c = newPluginContext(request, url, attributes, routeId, exchange.requestId, nowMs, ctx);
        let answer = pipeline.run(c);
        if (answer instanceof Promise) answer = await answer;
        exchange.route = c.routeId;
        if (answer) return this.edited(answer, c);
        attributes.consumer = c.consumer;
        plugins = c;
        if (c.groupOverride >= 0) suspect = { index: c.groupOverride, id: active.groups[c.groupOverride]?.id ?? -1 };
        // A plugin may have waited (limit-req's delay, a Redis round trip, JWT verification) or a
        // snapshot may have come in: decide from the route found again.
        if (this.hot.snapshot !== active) known = -1;
        else known = route;
        nowMs = Date.now();
      }
    }
    const d = known >= 0 ? this.hot.decidePolicies(known, attributes, nowMs) : this.hot.decide(attributes, nowMs);
    this.decisions += 1;
    if (d.status === DecideStatus.NO_ROUTE) return errorResponse("no_route", `no route for ${url.hostname}${url.pathname}`);
    if (d.status === DecideStatus.NO_SNAPSHOT) return errorResponse("no_snapshot", "no routing snapshot loaded");
    const routeId = (this.hot.snapshot.routes[d.route] as { id: number }).id;
    exchange.route = routeId;
    if (d.conditionErrors > 0) {
      this.conditionErrors += d.conditionErrors;
      this.metrics.conditionError(String(routeId), d.conditionErrors);
    }
    // Anti-scraping's suspect group replaces the policies' choice, balanced like any group, found
    // by id when a snapshot came in while the plugins awaited. (select() reuses decide()'s result
    // object: d then describes the suspect pick.)
    const routeIndex = d.route;
    let groupIndex = d.group;
    if (suspect) {
      const groups = this.hot.snapshot.groups;
      groupIndex = groups[suspect.index]?.id === suspect.id ? suspect.index : groups.findIndex((g) => g.id === suspect.id);
      this.hot.select(groupIndex, suspect.id, attributes, nowMs, [], 0);
    }
    const group = this.hot.snapshot.groups[groupIndex];
    let answer: Promise<Response>;
    if (d.status === DecideStatus.NO_INSTANCE || !group) {
      // A function's entry group has no instances, so it always comes back here (one Map lookup).
      const entry = this.functions.entry(groupIndex);
      if (!entry)
        return this.edited(errorResponse("no_instance", `group '${group?.name ?? groupIndex}' has no available instance`), plugins);
      const keepAlive = () => {
        this.source.keepAlive(ctx);
        this.pusher.touch(ctx, Date.now());
      };
      answer = this.functions.serve(
        request,
        url,
        attributes,
        entry,
        routeIndex,
        nowMs,
        body,
        exchange,
        keepAlive,
        plugins?.upstream ?? null,
      );
    } else {
      exchange.group = group.name;
      if (d.panic) {
        this.panics += 1;
        this.metrics.panic(String(routeId), group.name);
      }
      const target = { route: routeIndex, group: groupIndex, instance: d.instance, probe: d.probe, atMs: nowMs };
      answer = forward(this.scope, request, url, attributes, target, attributes.peer() ?? null, body, exchange, plugins?.upstream ?? null);
    }
    if (plugins) {
      const c = plugins;
      answer = answer.then(
        (response) => this.edited(response, c),
        (error: unknown) => {
          // A defect: the runtime answers 500. limit-conn's places are freed all the same.
          for (const finish of c.finishers) finish();
          throw error;
        },
      );
    }
    return this.config.versionHeader ? withVersion(answer, this.source.state.version) : answer;
  }

  /** `response` with the route plugins' response edits and finishers (none without plugins). */
  private edited(response: Response, plugins: PluginContext | null): Response {
    return plugins ? withFinishers(withResponseEdits(response, plugins.responseEdits), plugins.finishers) : response;
  }

  /** Counts the answered request in the metrics and, when sampled, writes its access-log line. */
  private record(
    request: Request,
    exchange: Exchange,
    status: number,
    arrivedMs: number,
    started: number,
    response: Response | null,
  ): void {
    const totalMs = performance.now() - started;
    const route = exchange.route < 0 ? "" : String(exchange.route);
    this.metrics.request(route, exchange.group, exchange.functionVersion, request.method, status, totalMs / 1000);
    const version = this.source.state.version;
    const trace = exchange.trace;
    trace?.end({
      endUnixMs: arrivedMs + totalMs,
      method: request.method,
      route,
      group: exchange.group,
      statusCode: status,
      snapshotVersion: version === null ? "" : String(version),
      requestId: exchange.requestId,
    });
    if (!this.accessLog.sampled()) return;
    // No URL when the request was refused before routing (a malformed target): the raw Host then.
    const url = exchange.url;
    this.accessLog.record({
      log: "access",
      time: isoTime(arrivedMs),
      requestId: exchange.requestId,
      method: request.method,
      host: url ? url.host : request.headers.get("host"),
      path: url ? url.pathname : null,
      client: exchange.client?.clientIp() ?? null,
      route: exchange.route < 0 ? null : exchange.route,
      group: exchange.group || null,
      instance: exchange.instance,
      status,
      attempts: exchange.attempts,
      upstreamMs: exchange.upstreamMs === null ? null : round3(exchange.upstreamMs),
      totalMs: round3(totalMs),
      bytesIn: contentLength(request.headers),
      bytesOut: response ? contentLength(response.headers) : null,
      snapshotVersion: version === null ? null : String(version),
      traceId: trace?.sampled ? trace.traceId : null,
    });
  }

  /** The gauges a metrics push carries (worker/telemetry/wire.ts). */
  private gauges(): MetricsPush["gauges"] {
    const s = this.source.state;
    const snapshot = this.hot.snapshot;
    const ejected: InstanceRef[] = [];
    const breakerOpen: InstanceRef[] = [];
    for (const group of snapshot.groups) {
      for (let k = 0; k < group.instanceCount; k++) {
        const i = group.firstInstance + k;
        const info = snapshot.instances[i];
        if (!info) continue;
        const health = this.hot.instanceHealth(i);
        if (!health.ejected && health.breaker === "closed") continue;
        const ref = { group: group.name, instance: `${info.host}:${info.port}` };
        if (health.ejected) ejected.push(ref);
        if (health.breaker !== "closed") breakerOpen.push(ref);
      }
    }
    return {
      activeRequests: this.active,
      snapshotVersion: s.version === null ? null : String(s.version),
      snapshotAgeSeconds: s.confirmedMs === null ? null : (Date.now() - s.confirmedMs) / 1000,
      ejected,
      breakerOpen,
    };
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
   * The activation buffer (worker/functions/activator.ts): requests waiting now per version, and
   * since the isolate started the requests that waited, were refused for a full buffer, or whose
   * wait ran out.
   */
  private functionsStatus() {
    const a = this.activator;
    return {
      buffered: a.buffered,
      versions: a.versions().map(({ version, buffered }) => ({
        appkey: version.appkey,
        function: version.function,
        version: version.version,
        buffered,
      })),
      activations: a.activations,
      overflows: a.overflows,
      activationTimeouts: a.timeouts,
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

  /** The isolate's view of its snapshot: version, age and the last refresh error; its process; its telemetry (metrics pushes control answered, the last refusal, trace export counters). No secrets. */
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
        functions: this.functionsStatus(),
        // Cluster limit checks answered by the fail mode (Redis down or slow), and local limit keys dropped at the cap.
        limits: { ...this.pluginIsolate.limits.stats, keys: this.pluginIsolate.limits.size },
        telemetry: {
          metricsPushesAnswered: this.pusher.answered,
          lastPushRefusal: this.pushRefusal,
          traces: this.config.trace.endpoint === null ? null : this.tracer.stats(),
        },
      },
      { headers: { "cache-control": "no-store" } },
    );
  }
}

/** Interval of repeated activation pokes while a version has buffered requests, ms (docs/functions-runtime.md: every second). */
const ACTIVATION_POKE_MS = 1000;

/** What serve() returns for an authorised status-document request (rendered after the count). */
const STATUS_DOCUMENT_MARK = new Response(null, { status: 200 });

/**
 * `response` with header `name` set. An upstream's response passed through may have immutable
 * headers (workerd's and Deno's fetch responses do; Bun's do not): then it is re-wrapped, which
 * copies the headers — learnt at the first refusal, so a runtime that refuses pays no exception
 * per request.
 */
function withHeader(response: Response, name: string, value: string): Response {
  if (mutableResponses) {
    try {
      response.headers.set(name, value);
      return response;
    } catch {
      mutableResponses = false;
    }
  }
  const copy = new Response(response.body, response);
  copy.headers.set(name, value);
  return copy;
}
let mutableResponses = true;

/** A Content-Length header's value, or null when absent or malformed. */
function contentLength(headers: Headers): number | null {
  const raw = headers.get("content-length");
  if (raw === null) return null;
  const n = Number(raw);
  return Number.isSafeInteger(n) && n >= 0 ? n : null;
}

/** ms rounded to µs, for the access log. */
function round3(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/** Labels an answer with the snapshot version that routed it (SNAPSHOT_VERSION_HEADER=1). */
async function withVersion(proxied: Promise<Response>, version: bigint | null): Promise<Response> {
  // An upstream's response passed through has immutable headers: re-wrap it (debug path only).
  const upstream = await proxied;
  const response = new Response(upstream.body, upstream);
  response.headers.set("sluice-snapshot-version", String(version));
  return response;
}
