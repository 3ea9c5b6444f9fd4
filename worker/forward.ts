/**
 * Forwarding one decided request: group admission (Envoy circuit breaker max_requests /
 * max_pending_requests), then attempts — each reported to the WASM balancers (in-flight count,
 * outlier detection, breaker, EWMA) — with the route's retry policy between them: Envoy's
 * retry_on classes, idempotency, retry budget and full-jitter back-off, the next try preferring
 * an instance not yet tried, per-try and total timeouts (docs/balancing.md, "Retries").
 * All decisions are WASM's (wasm/assembly/lb/); this module does the I/O and the waiting.
 */
import type { DecideRequest, HotPath } from "../wasm/host.ts";
import { type AttemptOutcome, Failure, outcomeLabel, sendAttempt } from "./attempt.ts";
import { type ClientBody, watchClientBody } from "./client-body.ts";
import type { UpstreamEdit } from "./plugins/context.ts";
import { downstreamResponse, upstreamRequest } from "./proxy.ts";
import { errorResponse } from "./responses.ts";
import type { Exchange } from "./telemetry/exchange.ts";
import type { MetricsAggregator } from "./telemetry/metrics.ts";
import type { AttemptTrace } from "./telemetry/tracer.ts";

/** Largest request body kept in memory so a retry can re-send it, bytes (Envoy buffers up to its per-request limit). */
export const RETRY_BODY_BYTES = 64 * 1024;

/** Per-instance attempt counts of one isolate, for the status document. */
export interface AttemptCounts {
  attempts: number;
  /** Attempts that got a 5xx or no response. */
  failures: number;
}

/** What forward() needs from the gateway isolate. */
export interface ForwardScope {
  hot: HotPath;
  /** Requests waiting for a group's concurrency slot, FIFO, by group id. */
  waiters: Map<number, (() => void)[]>;
  /** By instance id. */
  counts: Map<number, AttemptCounts>;
  /** Retries sent by this isolate. */
  retries: number;
  /** The isolate's metrics since its last push (attempts, retries, ejections, overflows). */
  metrics: MetricsAggregator;
}

/** The decision forward() starts from (copied: the hot path's result object is reused). */
export interface Decided {
  route: number;
  group: number;
  instance: number;
  probe: boolean;
  /** When the request was decided (Unix ms): the start of its total timeout. */
  atMs: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const NO_TRIED: readonly number[] = [];

/** `work`'s result, or null when `deadlineMs` (Unix ms) passes first. */
async function beforeDeadline<T>(work: Promise<T>, deadlineMs: number): Promise<T | null> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), Math.max(0, deadlineMs - Date.now()));
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}

/**
 * Sends `request` to the decided instance, retrying as its route allows.
 * @param body what to send instead of request.body when part of it was already read for body
 *   attributes (worker/body.ts; undefined forwards request.body).
 * @param exchange the request's record: its id is sent upstream, its attempts are written into it.
 * @param edit the route's plugins' edits of the request sent upstream (PluginContext.upstream),
 *   applied to every attempt by upstreamRequest; null (or absent) sends the client's request.
 * @returns the upstream's response (the last one when retries are exhausted or no instance is
 *   left to retry on), or a JSON 502 (no response), 504 (timeout), 503 `overflow` (group
 *   limits), 503 `no_instance`, or 408 when the client's body does not arrive in time.
 */
export async function forward(
  scope: ForwardScope,
  request: Request,
  url: URL,
  attributes: DecideRequest,
  decided: Decided,
  clientIp: string | null,
  body: ReadableStream<Uint8Array> | Uint8Array | null | undefined,
  exchange: Exchange,
  edit: UpstreamEdit | null = null,
): Promise<Response> {
  const { hot } = scope;
  const snapshot = hot.snapshot;
  const route = snapshot.routes[decided.route];
  const group = snapshot.groups[decided.group];
  const first = snapshot.instances[decided.instance];
  if (!route || !group || !first) return errorResponse("no_instance", "decision referred to a missing route, group or instance");
  const deadlineMs = decided.atMs + route.timeoutMs;
  // Route, group and instance are named by (index, id) from here on: the hot path finds them
  // again by id when a snapshot swap comes in during an await, and treats one that left as gone.
  const g = decided.group;
  // A half-open probe that is picked must be sent or handed back (abandonProbe), or its
  // breaker would wait for it forever.
  let unsentProbe: [number, number] | null = decided.probe ? [decided.instance, first.id] : null;
  let retryInFlight = false;
  let admitted = false;
  try {
    // A small body is buffered (so a retry can re-send it) before taking a slot of the group, and
    // no longer than the request's deadline: a slow client must not hold a slot.
    let payload: ReadableStream<Uint8Array> | Uint8Array | null = body === undefined ? request.body : body;
    let clientBody: ClientBody | null = null;
    if (payload instanceof ReadableStream && route.numRetries > 0 && fitsRetryBuffer(request)) {
      let bytes: ArrayBuffer | null;
      try {
        bytes = await beforeDeadline(new Response(payload).arrayBuffer(), deadlineMs);
      } catch (error) {
        return errorResponse("bad_request", `the request body could not be read: ${(error as Error).message ?? error}`);
      }
      if (!bytes) return errorResponse("request_timeout", "the request body did not arrive before the route's timeout");
      payload = new Uint8Array(bytes);
    } else if (payload instanceof ReadableStream) {
      clientBody = watchClientBody(payload, Number(request.headers.get("content-length") ?? Number.NaN));
      payload = clientBody.stream;
    }
    // Most requests are admitted at once: no await then (one promise and microtask less per request).
    const admission = admit(scope, g, group.id, deadlineMs);
    admitted = typeof admission === "boolean" ? admission : await admission;
    if (!admitted) {
      scope.metrics.overflow(group.name);
      return errorResponse("overflow", `group '${group.name}' is at its concurrency limit`);
    }

    // The decided instance may have left in a swap during the awaits: then pick anew in the group.
    let instance = decided.instance;
    let instanceId = first.id;
    let probe = decided.probe;
    if (!hot.instance(instance, instanceId)) {
      const again = hot.select(g, group.id, attributes, Date.now(), NO_TRIED, 0);
      if (again.instance < 0) return errorResponse("no_instance", `group '${group.name}' has no available instance`);
      instance = again.instance;
      instanceId = (hot.snapshot.instances[instance] as { id: number }).id;
      probe = again.probe;
      if (probe) unsentProbe = [instance, instanceId];
    }
    const tried: number[] = [];
    for (let retries = 0; ; retries++) {
      const target = hot.instance(instance, instanceId);
      if (!target) return errorResponse("no_instance", `group '${group.name}' has no available instance`);
      if (unsentProbe?.[1] === target.id) unsentProbe = null; // sent now; finish() reports it
      const outcome = await attempt(
        scope,
        request,
        url,
        target,
        clientIp,
        payload,
        clientBody,
        probe,
        instance,
        route.perTryTimeoutMs,
        deadlineMs,
        group.name,
        exchange,
        edit,
      );
      if (retryInFlight) {
        retryInFlight = false;
        hot.retryEnded(g, group.id);
      }
      if (outcome.clientFault) {
        return errorResponse("bad_request", `the request body could not be read: ${(clientBody?.error as Error)?.message ?? "broken off"}`);
      }
      if (outcome.failure === Failure.NONE && outcome.status < 500) return downstreamResponse(outcome.response as Response);

      const replayable = !(payload instanceof ReadableStream);
      const delayMs = replayable
        ? hot.retryDecision(
            decided.route,
            route.id,
            g,
            group.id,
            outcome.status,
            outcome.failure,
            request.method,
            retries,
            decided.atMs,
            Date.now(),
          )
        : -1;
      if (delayMs < 0) return finalAnswer(outcome, target);
      hot.retryStarted(g, group.id);
      retryInFlight = true;
      scope.retries += 1;
      scope.metrics.retry(String(route.id), group.name);
      tried.push(target.id);
      if (delayMs > 0) await sleep(delayMs);
      const next = hot.select(g, group.id, attributes, Date.now(), tried, retries + 1);
      // Nothing left to retry on: the upstream's last answer stands (its body is still unread).
      if (next.instance < 0) return finalAnswer(outcome, target);
      instance = next.instance;
      instanceId = (hot.snapshot.instances[instance] as { id: number }).id;
      probe = next.probe;
      if (probe) unsentProbe = [instance, instanceId];
      // Not awaited: between the pick and the next attempt nothing may yield, or the index could go stale.
      outcome.response?.body?.cancel().catch(() => {});
    }
  } finally {
    if (unsentProbe) hot.abandonProbe(unsentProbe[0], unsentProbe[1], Date.now());
    if (retryInFlight) hot.retryEnded(g, group.id);
    if (admitted) release(scope, g, group.id);
  }
}

/**
 * Writes an attempt's end into `exchange` (attempts, instance, upstream time), the isolate's
 * metrics (under `groupName`) and its trace span, if any. @returns the instance's `host:port`.
 */
export function recordAttempt(
  metrics: MetricsAggregator,
  exchange: Exchange,
  groupName: string,
  target: { host: string; port: number },
  outcome: AttemptOutcome,
  span: AttemptTrace | null,
): string {
  const address = `${target.host}:${target.port}`;
  exchange.attempts += 1;
  exchange.instance = address;
  exchange.upstreamMs = outcome.latencyMs;
  const outcomeName = outcomeLabel(outcome);
  metrics.attempt(groupName, address, outcomeName, outcome.latencyMs / 1000);
  span?.end({
    endUnixMs: Date.now(),
    statusCode: outcome.status,
    outcome: outcomeName,
    serverAddress: target.host,
    serverPort: target.port,
    attempt: exchange.attempts,
  });
  return address;
}

/**
 * One attempt on instance (`instance`, `target.id`), reported to the balancers whatever its end —
 * except a failure that reading the client's body caused (`clientBody.failed`): that one is
 * cancelled (HotPath.cancel: no outlier, breaker or latency record) and marked `clientFault`.
 * Counted in the isolate's metrics under `groupName` and written into `exchange`.
 */
async function attempt(
  scope: ForwardScope,
  request: Request,
  url: URL,
  target: { id: number; host: string; port: number },
  clientIp: string | null,
  body: ReadableStream<Uint8Array> | Uint8Array | null,
  clientBody: ClientBody | null,
  probe: boolean,
  instance: number,
  perTryMs: number,
  deadlineMs: number,
  groupName: string,
  exchange: Exchange,
  edit: UpstreamEdit | null,
): Promise<AttemptOutcome> {
  const { hot } = scope;
  hot.start(instance, target.id);
  const span = exchange.trace?.attempt(Date.now()) ?? null;
  const propagated = { requestId: exchange.requestId, traceparent: span?.traceparent ?? null, tracestate: span?.tracestate ?? null };
  const outcome = await sendAttempt(
    (signal) => upstreamRequest(request, url, target, clientIp, body, signal, propagated, edit),
    request.method,
    perTryMs,
    deadlineMs,
  );
  if (outcome.failure !== Failure.NONE && clientBody?.failed) {
    hot.cancel(instance, target.id, probe, Date.now());
    outcome.clientFault = true;
    return outcome;
  }
  const address = recordAttempt(scope.metrics, exchange, groupName, target, outcome, span);
  if (hot.finish(instance, target.id, outcome, probe, Date.now()) === "ejected") scope.metrics.ejection(groupName, address);
  const counts = scope.counts.get(target.id) ?? { attempts: 0, failures: 0 };
  scope.counts.set(target.id, counts);
  counts.attempts += 1;
  if (outcome.failure !== Failure.NONE || outcome.status >= 500) counts.failures += 1;
  return outcome;
}

/** The answer when no retry follows: the upstream's response, else a 504 or 502. */
export function finalAnswer(outcome: AttemptOutcome, target: { host: string; port: number }): Response {
  if (outcome.response) return downstreamResponse(outcome.response);
  const where = `${target.host}:${target.port}`;
  if (outcome.failure === Failure.TIMEOUT) {
    return errorResponse(
      "upstream_timeout",
      `upstream ${where} did not answer in time (${outcome.deadline === "try" ? "per-try" : "total"} timeout)`,
    );
  }
  return errorResponse("upstream_unreachable", `upstream ${where} failed: ${outcome.error ?? "no response"}`);
}

/** Whether the request body is small enough (by Content-Length) to keep for retries. */
function fitsRetryBuffer(request: Request): boolean {
  const length = Number(request.headers.get("content-length") ?? Number.NaN);
  return Number.isFinite(length) && length <= RETRY_BODY_BYTES;
}

/**
 * Admission to group (`g`, `groupId`) (its index in the decision's snapshot and control id): run
 * now, wait in FIFO for a slot until `deadlineMs` (Unix ms), or refuse. @returns false when
 * refused or the wait ran out — synchronously unless the request has to wait.
 */
function admit(scope: ForwardScope, g: number, groupId: number, deadlineMs: number): boolean | Promise<boolean> {
  const verdict = scope.hot.admit(g, groupId);
  // "gone": the group left the snapshot meanwhile, and the attempt finds no instance.
  if (verdict === "run" || verdict === "gone") return true;
  if (verdict === "reject") return false;
  const waiters = scope.waiters.get(groupId) ?? [];
  scope.waiters.set(groupId, waiters);
  return new Promise<boolean>((resolve) => {
    const wake = () => {
      clearTimeout(timer);
      resolve(true);
    };
    const timer = setTimeout(
      () => {
        const at = waiters.indexOf(wake);
        if (at >= 0) waiters.splice(at, 1);
        scope.hot.abandonQueued(g, groupId);
        resolve(false);
      },
      Math.max(0, deadlineMs - Date.now()),
    );
    waiters.push(wake);
  });
}

/**
 * A running request of group (`g`, `groupId`) ended: its slot goes to the first waiter, if any.
 * When the group has left the snapshot, every waiter is woken (each then finds no instance)
 * rather than left to time out.
 */
function release(scope: ForwardScope, g: number, groupId: number): void {
  const waiters = scope.waiters.get(groupId);
  for (;;) {
    const released = scope.hot.release(g, groupId);
    if (released === "gone") {
      for (const wake of waiters?.splice(0) ?? []) wake();
      return;
    }
    if (released === "done") return;
    // "wake" hands the slot to a queued request; with no waiter here (its group was swapped
    // meanwhile) the slot is released again rather than leaked.
    const wake = waiters?.shift();
    if (wake) {
      wake();
      return;
    }
  }
}
