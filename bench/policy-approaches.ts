/**
 * The four ways `npm run bench:policy` makes the same routing decision — the index of the first
 * of n policies whose condition holds for one request — each built once and then called per
 * request, doing all per-request work (reading the request's attributes in, evaluating):
 *   (a) WASM: Sluice's hot path (wasm/host.ts decide(): route, attributes into slots, one
 *       call evaluating every policy of the route, balancing);
 *   (b) the TypeScript reference evaluator of the same IR (wasm/cel/evaluate.ts);
 *   (c) @bufbuild/cel with a planned program per policy, the request as CEL maps;
 *   (d) compile per request, as Oceanus did with Lua `load()`: `new Function` per policy per
 *       request on source rendered with the key's value (bench only; workerd forbids it).
 * No Node or Workers imports: the bench Worker uses this module too.
 */
import { CelScalar, celEnv, celFunc, parse, plan } from "@bufbuild/cel";
import { keyAttribute, lowerCondition } from "../control/compiler/index.ts";
import { compileEvaluator, type EvalRequest } from "../wasm/cel/evaluate.ts";
import type { AttributeRef } from "../wasm/cel/ir.ts";
import { type DecideRequest, type HotPath, Source } from "../wasm/host.ts";
import { murmur3Utf8 } from "../wasm/reference/bucket.ts";
import type { BenchPolicy, BenchRequest } from "./policy-cases.ts";
import { JS_HELPERS, keyValueOf, renderJs } from "./policy-js.ts";

/** One decision: the matching policy's index (−1: none). */
export type Decide = () => number;

/**
 * (a) `hot` must hold a snapshot whose route for req.host/req.path lists the policies.
 * `full`: the whole product path per request (host, path and method in, route lookup, then the
 * policies); otherwise the route is known, as it is for (b)–(d): attributes in, policies run.
 * Both pick an instance of the chosen group through the balancing pipeline (one instance).
 */
export function wasmApproach(hot: HotPath, req: BenchRequest, full = false): Decide {
  const maps = [req.query, req.header, req.cookie];
  const request: DecideRequest = {
    host: req.host,
    path: req.path,
    method: req.method,
    attribute: (source, name) => (source <= Source.COOKIE ? maps[source]?.get(name) : source === Source.CLIENT ? req.ip : undefined),
  };
  // The gateway reads the clock once per request for the request's deadline and hands that
  // reading to the decision (worker/gateway.ts); the bench's request arrived at one instant.
  const arrivedMs = Date.now();
  if (full) return () => hot.decide(request, arrivedMs).policy;
  const route = hot.route(request);
  if (route < 0) throw new Error("bench request has no route");
  return () => hot.decidePolicies(route, request, arrivedMs).policy;
}

/** (b) */
export function referenceApproach(policies: BenchPolicy[], req: BenchRequest): Decide {
  const evaluators = policies.map((p) => compileEvaluator(lowerCondition(p.condition, keyAttribute(p.passway, p.key))));
  const request: EvalRequest = {
    method: req.method,
    host: req.host,
    path: req.path,
    attribute: (source, name) =>
      source === "query"
        ? req.query.get(name)
        : source === "header"
          ? req.header.get(name)
          : source === "cookie"
            ? req.cookie.get(name)
            : source === "client"
              ? req.ip
              : undefined,
  };
  return () => {
    for (let i = 0; i < evaluators.length; i++) if ((evaluators[i] as (r: EvalRequest) => unknown)(request) === true) return i;
    return -1;
  };
}

/** @bufbuild/cel's environment with the two Sluice functions it lacks, as plain JS functions. */
export function benchCelEnv(): ReturnType<typeof celEnv> {
  const { BOOL, INT, STRING } = CelScalar;
  return celEnv({
    funcs: [
      celFunc("bucket", [STRING, INT], INT, (s, n) => BigInt(murmur3Utf8(s)) % n),
      celFunc("cidrContains", [STRING, STRING], BOOL, (cidr, ip) => JS_HELPERS.cidr(cidr, ip)),
    ],
  });
}

/** (c) bucket() and cidr() are registered with @bufbuild/cel as JS functions (it has neither). */
export function celApproach(policies: BenchPolicy[], req: BenchRequest, env: ReturnType<typeof celEnv>): Decide {
  const programs = policies.map((p) => {
    // cidr("…").contains(x) is not CEL: @bufbuild/cel runs the equivalent cidrContains("…", x).
    const source = p.condition.replace(/cidr\(("[^"]*")\)\.contains\(([^)]*)\)/g, "cidrContains($1, $2)");
    return { run: plan(env, parse(source)) as (vars: Record<string, unknown>) => unknown, key: keyAttribute(p.passway, p.key) };
  });
  return () => {
    // The request as CEL maps, per request: this approach's "copying the attributes in".
    const request = new Map<string, unknown>([
      ["query", new Map(req.query)],
      ["header", new Map(req.header)],
      ["cookie", new Map(req.cookie)],
      ["ip", req.ip],
      ["method", req.method],
      ["host", req.host],
      ["path", req.path],
    ]);
    for (let i = 0; i < programs.length; i++) {
      const p = programs[i] as (typeof programs)[number];
      const key = keyValueOf(req, p.key);
      if (p.run(key === undefined ? { request } : { request, key }) === true) return i;
    }
    return -1;
  };
}

/** (d) Throws in workerd (no runtime code generation). */
export function compilePerRequestApproach(policies: BenchPolicy[], req: BenchRequest): Decide {
  const templates = policies.map((p) => ({
    ir: lowerCondition(p.condition, keyAttribute(p.passway, p.key)),
    key: keyAttribute(p.passway, p.key),
  }));
  return () => {
    for (let i = 0; i < templates.length; i++) {
      const t = templates[i] as (typeof templates)[number];
      const source = renderJs(t.ir, t.key, keyValueOf(req, t.key as AttributeRef));
      const fn = new Function("req", "h", `return ${source};`) as (r: BenchRequest, h: typeof JS_HELPERS) => unknown;
      if (fn(req, JS_HELPERS) === true) return i;
    }
    return -1;
  };
}
