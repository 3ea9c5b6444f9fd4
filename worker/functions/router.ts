/**
 * A request routed to a function (its decision landed on the function's entry group, which has no
 * instances: docs/functions-runtime.md): chooses the version, picks an instance of the version
 * group, and forwards as any request (worker/forward.ts) — or, when the version has no available
 * instance, waits in the activation buffer (activator.ts) for a snapshot that brings one, or for
 * control to name a ready one first (then one direct attempt, sendDirect), within
 * min(activationTimeoutMs, the route's remaining timeout). Counts the version's load (load.ts).
 *
 * Indices are of the snapshot a request was decided on; every pick and the forward() that uses it
 * run in one synchronous stretch, so no snapshot swap (an await in worker/snapshot-source.ts) can
 * fall between them. After a wait the route is found again by id.
 */
import type { FunctionEntry, FunctionTarget } from "../../wasm/functions-section.ts";
import { sendAttempt } from "../attempt.ts";
import { type ForwardScope, finalAnswer, forward, recordAttempt } from "../forward.ts";
import type { UpstreamEdit } from "../plugins/context.ts";
import { upstreamRequest } from "../proxy.ts";
import type { RequestAttributes } from "../request-attributes.ts";
import { errorResponse } from "../responses.ts";
import type { Exchange } from "../telemetry/exchange.ts";
import type { ReadyAddress } from "./activation-poke.ts";
import type { Activator, VersionRef } from "./activator.ts";
import type { FunctionLoad } from "./load.ts";
import { CodeUnavailableError, type LoaderRunner } from "./loader.ts";
import { type FunctionTable, NO_FUNCTIONS, type VersionRequest, versionRequest } from "./table.ts";

/** Chooses a target of `entry` for a request (worker/functions/choose-version.ts); `random` uniform in [0, 1). */
export type ChooseVersion = (entry: FunctionEntry, request: VersionRequest, random: () => number) => FunctionTarget;

export interface FunctionRouterDeps {
  scope: ForwardScope;
  activator: Activator;
  load: FunctionLoad;
  choose: ChooseVersion;
  random: () => number;
  /** Worker Loader mode (FUNCTION_RUNNER=loader): versions run in loaded isolates, never buffered. */
  loader?: LoaderRunner;
}

/** The body to forward, as worker/forward.ts takes it. */
type Body = ReadableStream<Uint8Array> | Uint8Array | null | undefined;

/** The activator's 503s ask the client to come back in a second (docs/functions-runtime.md). */
const RETRY_AFTER = { "retry-after": "1" } as const;
const NO_TRIED: readonly number[] = [];

export class FunctionRouter {
  private readonly deps: FunctionRouterDeps;
  private table: FunctionTable = NO_FUNCTIONS;

  constructor(deps: FunctionRouterDeps) {
    this.deps = deps;
  }

  /** The function whose entry group is GROUPS index `group` of the active snapshot, or undefined. O(1). */
  entry(group: number): FunctionEntry | undefined {
    return this.table.get(group);
  }

  /**
   * A snapshot was loaded (call right after HotPath.load succeeded) with functions `table`: the
   * table is swapped, instances control named ahead of a snapshot are dropped (this one is the
   * truth now), then buffered requests of each version group (found by id) that now has an
   * instance are released, FIFO.
   */
  loaded(table: FunctionTable): void {
    this.table = table;
    const { activator, scope } = this.deps;
    activator.snapshotLoaded();
    if (activator.buffered === 0) return;
    const ready = new Set<number>();
    for (const group of scope.hot.snapshot.groups) if (group.instanceCount > 0) ready.add(group.id);
    activator.recheck((groupId) => ready.has(groupId));
  }

  /**
   * Serves a request whose decision (at `atMs`, Unix ms: the start of its route's timeout) landed
   * on function `entry` on route `route` (indices of the active snapshot, which must not have
   * changed since the decision).
   * @param keepAlive keeps the isolate's background loops running while the request is buffered.
   * @param edit the route plugins' edits of what is sent to the version (proxy-rewrite, auth).
   * @returns forward()'s answer, or 503 `no_instance` (no version to route to), 503 `overflow` or
   *   `activation_timeout` with `Retry-After: 1`, 404 `no_route` (the route left while waiting).
   */
  serve(
    request: Request,
    url: URL,
    attributes: RequestAttributes,
    entry: FunctionEntry,
    route: number,
    atMs: number,
    body: Body,
    exchange: Exchange,
    keepAlive: () => void,
    edit: UpstreamEdit | null = null,
  ): Promise<Response> {
    const { hot } = this.deps.scope;
    const snapshot = hot.snapshot;
    const routeInfo = snapshot.routes[route];
    const target = entry.targets.length > 0 ? this.deps.choose(entry, versionRequest(entry, attributes), this.deps.random) : undefined;
    const group = target === undefined ? undefined : snapshot.groups[target.group];
    if (!routeInfo || !target || !group) {
      return Promise.resolve(errorResponse("no_instance", `function '${entry.name}' has no version to route to`));
    }
    const version: VersionRef = { groupId: group.id, appkey: entry.appkey, function: entry.name, version: target.version };
    exchange.group = group.name;
    exchange.functionVersion = `${entry.appkey}/${entry.name}@${target.version}`;
    this.deps.load.begin(version, Date.now());
    if (this.deps.loader) return this.counted(version, this.loaded_(this.deps.loader, version, request, url, body, edit));
    const s = hot.select(target.group, group.id, attributes, atMs, NO_TRIED, 0);
    const answer =
      s.instance >= 0
        ? forward(
            this.deps.scope,
            request,
            url,
            attributes,
            { route, group: target.group, instance: s.instance, probe: s.probe, atMs },
            attributes.peer() ?? null,
            body,
            exchange,
            edit,
          )
        : this.buffered(
            request,
            url,
            attributes,
            version,
            routeInfo.id,
            atMs,
            Math.min(atMs + routeInfo.timeoutMs, Date.now() + entry.activationTimeoutMs),
            body,
            exchange,
            keepAlive,
            edit,
          );
    return this.counted(version, answer);
  }

  /** Waits in the buffer until `untilMs` (Unix ms) for an instance of `version`, then forwards. */
  private async buffered(
    request: Request,
    url: URL,
    attributes: RequestAttributes,
    version: VersionRef,
    routeId: number,
    atMs: number,
    untilMs: number,
    body: Body,
    exchange: Exchange,
    keepAlive: () => void,
    edit: UpstreamEdit | null,
  ): Promise<Response> {
    const { hot } = this.deps.scope;
    const startMs = Date.now();
    for (;;) {
      const outcome = await this.deps.activator.wait(version, untilMs, keepAlive);
      if (outcome === "overflow") {
        return errorResponse("overflow", "the gateway's activation buffer is full", RETRY_AFTER);
      }
      if (outcome === "timeout") {
        this.deps.load.waited(version, (Date.now() - startMs) / 1000);
        return errorResponse("activation_timeout", `no instance of ${exchange.functionVersion} became ready in time`, RETRY_AFTER);
      }
      // Released by a snapshot load or by control naming a ready instance: pick in the version
      // group of the current snapshot (by id) first. None available after all (e.g. ejected
      // meanwhile): a named instance gets the request, else wait again, within the same limit.
      const s = hot.select(-1, version.groupId, attributes, Date.now(), NO_TRIED, 0);
      if (s.instance < 0 && typeof outcome === "object") {
        this.deps.load.waited(version, (Date.now() - startMs) / 1000);
        return this.sendDirect(request, url, attributes, outcome.direct, routeId, atMs, body, exchange, edit);
      }
      if (s.instance < 0) continue;
      this.deps.load.waited(version, (Date.now() - startMs) / 1000);
      const snapshot = hot.snapshot;
      const route = snapshot.routes.findIndex((r) => r.id === routeId);
      const instance = snapshot.instances[s.instance];
      if (route < 0 || !instance) {
        if (s.probe && instance) hot.abandonProbe(s.instance, instance.id, Date.now());
        return errorResponse("no_route", `route ${routeId} left the snapshot while its request waited for an instance`);
      }
      const decided = { route, group: instance.group, instance: s.instance, probe: s.probe, atMs };
      return forward(this.deps.scope, request, url, attributes, decided, attributes.peer() ?? null, body, exchange, edit);
    }
  }

  /**
   * One attempt to `target`, an instance control named ready before any snapshot carries it
   * (Activator.direct): no retry and no balancer or outlier record, since the snapshot has no
   * such instance yet; the route's per-try and total timeouts (from `atMs`) apply. Counted in
   * the isolate's metrics as an attempt on the version group.
   * @returns the upstream's response, 502 `upstream_unreachable` / 504 `upstream_timeout` when
   *   it gave none, 404 `no_route` when route `routeId` left the snapshot meanwhile.
   */
  private async sendDirect(
    request: Request,
    url: URL,
    attributes: RequestAttributes,
    target: ReadyAddress,
    routeId: number,
    atMs: number,
    body: Body,
    exchange: Exchange,
    edit: UpstreamEdit | null,
  ): Promise<Response> {
    const route = this.deps.scope.hot.snapshot.routes.find((r) => r.id === routeId);
    if (!route) return errorResponse("no_route", `route ${routeId} left the snapshot while its request waited for an instance`);
    const span = exchange.trace?.attempt(Date.now()) ?? null;
    const propagated = { requestId: exchange.requestId, traceparent: span?.traceparent ?? null, tracestate: span?.tracestate ?? null };
    const payload = body === undefined ? request.body : body;
    const outcome = await sendAttempt(
      (signal) => upstreamRequest(request, url, target, attributes.peer() ?? null, payload, signal, propagated, edit),
      request.method,
      route.perTryTimeoutMs,
      atMs + route.timeoutMs,
    );
    recordAttempt(this.deps.scope.metrics, exchange, exchange.group, target, outcome, span);
    return finalAnswer(outcome, target);
  }

  /**
   * Worker Loader mode: the version's isolate answers (worker/functions/loader.ts).
   * @returns its response, or 503 `function_unavailable` (no code from control) or 502
   *   `function_error` (the module threw at start or in fetch), naming the version.
   */
  private async loaded_(
    loader: LoaderRunner,
    version: VersionRef,
    request: Request,
    url: URL,
    body: Body,
    edit: UpstreamEdit | null,
  ): Promise<Response> {
    const label = `${version.appkey}/${version.function}@${version.version}`;
    // Part of the body may have been read for body attributes: send what forward() would send.
    let forwarded = body === undefined ? request : new Request(request, { body, duplex: "half" } as RequestInit);
    if (edit) {
      const target = edit.pathAndQuery === null ? url : new URL(edit.pathAndQuery, url);
      forwarded = new Request(target, forwarded);
      for (const apply of edit.headers) apply(forwarded.headers, { host: url.hostname, port: Number(url.port) || 80 });
    }
    try {
      return await loader.fetch({ appkey: version.appkey, function: version.function, version: version.version }, forwarded);
    } catch (error) {
      if (error instanceof CodeUnavailableError) return errorResponse("function_unavailable", error.message);
      return errorResponse("function_error", `function ${label} failed: ${(error as Error)?.message ?? error}`);
    }
  }

  /** `answer`, with the version's request counted as ended when it settles. */
  private async counted(version: VersionRef, answer: Promise<Response>): Promise<Response> {
    try {
      return await answer;
    } finally {
      this.deps.load.end(version, Date.now());
    }
  }
}
