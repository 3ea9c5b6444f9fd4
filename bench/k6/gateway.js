/**
 * The `npm run bench` gateway scenarios as a k6 script, for machines that have k6 (it cannot be
 * installed on ours): GET /bench?uid=N with N cycling 0…999 so the demo policy
 * (`int(uid) % 100 < 10` → canary) takes both outcomes, an unmeasured warm-up, then the measured
 * phase with thresholds. Two phases of bench/gateway.ts:
 *   - saturation: constant VUs (one keep-alive connection each), closed loop;
 *   - fixed rate (RATE set, e.g. half of the saturation req/s): constant-arrival-rate, up to
 *     BENCH_CONNECTIONS VUs, open loop (k6 counts a request it could not start in time as
 *     `dropped_iterations`).
 * The same script serves every target of bench/gateway.ts (pass-through, gateway, the gateway
 * with 50 policies — seed bench/oceanus/policies.ts's policies on the demo route as
 * bench/targets.ts does — nginx, the Oceanus-style baseline): point TARGET_URL at it.
 *
 *   k6 run -e TARGET_URL=http://127.0.0.1:8080 bench/k6/gateway.js
 *   k6 run -e TARGET_URL=http://127.0.0.1:8080 -e RATE=7500 -e P99_MS=10 bench/k6/gateway.js
 *
 * Environment (same names as bench/gateway.ts where they overlap):
 *   TARGET_URL            origin of the gateway (required), e.g. http://127.0.0.1:8080
 *   BENCH_CONNECTIONS     VUs (default 32, as wrk -c32 in bench/gateway.ts)
 *   RATE                  fixed rate, req/s (default 0: saturation with constant VUs)
 *   BENCH_SECONDS         measured phase, s (default 10)
 *   BENCH_WARMUP_SECONDS  warm-up phase, s (default 2)
 *   P99_MS                threshold on the measured p99 latency, ms (default 200: workerd's GC
 *                         pauses of 150–350 ms land in the tail)
 *   MIN_RPS               threshold on measured throughput, req/s (default 0: not checked)
 *   APIKEY                sent as the `apikey` header (the edge-protection rows of bench/gateway.ts:
 *                         the demo route with key-auth + limit-count + a header rewrite, consumer
 *                         `bench`; docs/edge-protection.md); default none
 */
import { check } from "k6";
import exec from "k6/execution";
import http from "k6/http";

const TARGET_URL = (__ENV.TARGET_URL || "").replace(/\/+$/, "");
const HEADERS = __ENV.APIKEY ? { apikey: __ENV.APIKEY } : {};
if (!TARGET_URL) throw new Error("set TARGET_URL, e.g. k6 run -e TARGET_URL=http://127.0.0.1:8080 bench/k6/gateway.js");

/** @returns env `name` as a non-negative integer, or `fallback`. */
function envInt(name, fallback) {
  const raw = __ENV[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got '${raw}'`);
  return n;
}

const VUS = envInt("BENCH_CONNECTIONS", 32);
const RATE = envInt("RATE", 0);
const SECONDS = envInt("BENCH_SECONDS", 10);
const WARMUP_SECONDS = envInt("BENCH_WARMUP_SECONDS", 2);
const P99_MS = envInt("P99_MS", 200);
const MIN_RPS = envInt("MIN_RPS", 0);

const MEASURED = "{phase:measure}";
const thresholds = {
  [`http_req_failed${MEASURED}`]: ["rate<0.001"],
  [`checks${MEASURED}`]: ["rate>0.999"],
  [`http_req_duration${MEASURED}`]: [`p(99)<${P99_MS}`],
};
// A counter's `rate` divides by the whole test (warm-up included), so throughput is checked as a
// count over the measured phase instead.
if (MIN_RPS > 0) thresholds[`http_reqs${MEASURED}`] = [`count>=${MIN_RPS * SECONDS}`];

/** One phase: constant VUs (saturation) or, with RATE, constant arrival rate on up to VUS VUs. */
function phase(seconds, startTime, tags, gracefulStop) {
  const timing = { duration: `${seconds}s`, startTime, gracefulStop, tags };
  return RATE > 0
    ? { executor: "constant-arrival-rate", rate: RATE, timeUnit: "1s", preAllocatedVUs: VUS, maxVUs: VUS, ...timing }
    : { executor: "constant-vus", vus: VUS, ...timing };
}

export const options = {
  discardResponseBodies: true,
  summaryTrendStats: ["avg", "med", "p(90)", "p(99)", "p(99.9)", "max"],
  scenarios: {
    ...(WARMUP_SECONDS > 0 ? { warmup: phase(WARMUP_SECONDS, "0s", { phase: "warmup" }, "0s") } : {}),
    measure: phase(SECONDS, `${WARMUP_SECONDS}s`, { phase: "measure" }, "5s"),
  },
  thresholds,
};

export default function () {
  const uid = exec.scenario.iterationInTest % 1000;
  const res = http.get(`${TARGET_URL}/bench?uid=${uid}`, { tags: { name: "GET /bench?uid=N" }, headers: HEADERS });
  check(res, { "status is 2xx": (r) => r.status >= 200 && r.status < 300 });
}
