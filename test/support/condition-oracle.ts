/**
 * The three evaluators the condition differential compares, on one generated case each:
 *   - the system: control's compiler → snapshot → the WASM VM (through wasm/host.ts);
 *   - the TypeScript reference of the same IR (wasm/cel/evaluate.ts);
 *   - @bufbuild/cel as the oracle (`plan(celEnv(), parse(src))(vars)`), with `request` a Map of
 *     Maps, absent attributes absent and `key` unbound when query `key` is absent, plus two
 *     functions it lacks: bucket() (the spec'd MurmurHash3, wasm/reference/bucket.ts — so the
 *     oracle is not independent there; the VM's hash is checked against published test vectors)
 *     and cidrContains() (node:net's BlockList, independent of Sluice's parser).
 * The VM runs each condition as a policy keyed on query `key`, so it must agree with the
 * reference under the key gate (routeReference(): without its key a policy does not apply, "no");
 * the reference and the oracle judge the bare condition, on every case outside the documented
 * divergences of @bufbuild/cel from the CEL spec (divergence() below).
 */
import { BlockList, isIP } from "node:net";
import { type CelResult, CelScalar, celEnv, celFunc, isCelError, parse, plan } from "@bufbuild/cel";
import { keyAttribute, lowerCondition, lowerExpression } from "../../control/compiler/index.ts";
import type { ConfigModel, PolicyConfig } from "../../control/snapshot/model.ts";
import { compileEvaluator, type EvalRequest } from "../../wasm/cel/evaluate.ts";
import { ERROR, parseDoubleGo, parseIntGo, parseUintGo } from "../../wasm/cel/values.ts";
import { type DecideRequest, DecideStatus, type HotPath, Source } from "../../wasm/host.ts";
import { murmur3Utf8 } from "../../wasm/reference/bucket.ts";
import { type Atom, type Gen, HOST, type Req } from "./condition-gen.ts";
import { group, instance, policy, route, write } from "./wasm-fixtures.ts";

export type Outcome = "match" | "no" | "error";

// --- The oracle ---

const { BOOL, INT, STRING, UINT } = CelScalar;
const V4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
/**
 * netip semantics from node:net (libuv's address parser; ipaddr.js misreads `::1.2.3.4` as
 * IPv4-mapped): no zones, no leading zeros in IPv4 octets, families never mix.
 */
function oracleContains(cidr: string, ip: string): boolean {
  const family = isIP(ip);
  if (family === 0 || ip.includes("%")) throw new Error(`not an IP address: ${ip}`);
  const tail = ip.slice(ip.lastIndexOf(":") + 1);
  if (ip.includes(".") && !V4.test(tail)) throw new Error(`not an IP address: ${ip}`);
  const [network, bits] = cidr.split("/") as [string, string];
  const type = family === 4 ? "ipv4" : "ipv6";
  if (isIP(network) !== family) return false;
  const list = new BlockList();
  list.addSubnet(network, Number(bits), type);
  return list.check(ip, type);
}
export const ENV = celEnv({
  funcs: [
    celFunc("bucket", [STRING, INT], INT, (s, n) => {
      if (n <= 0n) throw new Error("bucket count must be positive");
      return BigInt(murmur3Utf8(s)) % n;
    }),
    celFunc("bucket", [INT, INT], INT, (x, n) => {
      if (n <= 0n) throw new Error("bucket count must be positive");
      return BigInt(murmur3Utf8(String(x))) % n;
    }),
    celFunc("bucket", [UINT, INT], INT, (x, n) => {
      if (n <= 0n) throw new Error("bucket count must be positive");
      return BigInt(murmur3Utf8(String(x.value))) % n;
    }),
    celFunc("cidrContains", [STRING, STRING], BOOL, oracleContains),
  ],
});

export type Planned = (vars: Record<string, unknown>) => CelResult;
export const planOracle = (src: string): Planned => plan(ENV, parse(src)) as Planned;

const present = (m: Partial<Record<string, string>>) => new Map(Object.entries(m).filter((e): e is [string, string] => e[1] !== undefined));

/** @bufbuild/cel's verdict. */
export function oracle(evaluate: Planned, req: Req, path: string): Outcome {
  const cf = new Map<string, unknown>(present(req.cf));
  if (req.cf.asn !== undefined) cf.set("asn", BigInt(req.cf.asn));
  const request = new Map<string, unknown>([
    ["query", present(req.query)],
    ["header", present(req.header)],
    ["cookie", present(req.cookie)],
    ["body", present(req.body)],
    ["cf", cf],
    ["method", req.method],
    ["host", HOST],
    ["path", path],
  ]);
  if (req.ip !== undefined) request.set("ip", req.ip);
  // request.consumer is a map whose name (and labels) are absent when not authenticated.
  const consumer = new Map<string, unknown>([["labels", present(req.consumer?.labels ?? {})]]);
  if (req.consumer !== undefined) consumer.set("name", req.consumer.name);
  request.set("consumer", consumer);
  const vars: Record<string, unknown> = { request };
  if (req.query.key !== undefined) vars.key = req.query.key;
  let result: CelResult;
  try {
    result = evaluate(vars);
  } catch {
    return "error";
  }
  if (isCelError(result)) return "error";
  if (typeof result !== "boolean") throw new Error(`oracle returned a non-bool ${String(result)}`);
  return result ? "match" : "no";
}

// --- Divergences of @bufbuild/cel 0.6.1 from the spec (docs/conditions.md) ---

const bigIntOrUndefined = (s: string): bigint | undefined => {
  try {
    return BigInt(s);
  } catch {
    return undefined;
  }
};
/** int(s): the spec (cel-go strconv.ParseInt) and @bufbuild/cel (BigInt) disagree. */
export function intDiverges(s: string): boolean {
  const spec = parseIntGo(s);
  const theirs = bigIntOrUndefined(s);
  const theirsOk = theirs !== undefined && theirs >= -(2n ** 63n) && theirs < 2n ** 63n;
  return spec === ERROR ? theirsOk : !theirsOk || BigInt(spec) !== theirs;
}
/** uint(s): strconv.ParseUint against BigInt. */
export function uintDiverges(s: string): boolean {
  const spec = parseUintGo(s);
  const theirs = bigIntOrUndefined(s);
  const theirsOk = theirs !== undefined && theirs >= 0n && theirs < 2n ** 64n;
  return spec === ERROR ? theirsOk : !theirsOk || BigInt(spec) !== theirs;
}
/** double(s): strconv.ParseFloat against Number() (which never fails: NaN for junk). */
export function doubleDiverges(s: string): boolean {
  const spec = parseDoubleGo(s);
  const theirs = Number(s);
  if (spec === ERROR) return true;
  return !(Object.is(spec, theirs) || (Number.isNaN(spec) && Number.isNaN(theirs)));
}
const HIGH_BMP = /[\ue000-\uffff]/u;
const ASTRAL = /[\u{10000}-\u{10ffff}]/u;

export type Divergence = "int() leniency" | "uint() leniency" | "double() parsing" | "UTF-16 string order" | "uint division range";

/** Which documented divergence this case could hit, or null when the oracle is trusted. */
export function divergence(g: Gen, req: Req, path: string): Divergence | null {
  const valuesOf = (atoms: Atom[]) =>
    atoms.map((a) => ("literal" in a ? a.literal : a.read(req, path))).filter((v): v is string => v !== undefined);
  if (valuesOf(g.intInputs).some(intDiverges)) return "int() leniency";
  if (valuesOf(g.uintInputs).some(uintDiverges)) return "uint() leniency";
  if (valuesOf(g.doubleInputs).some(doubleDiverges)) return "double() parsing";
  const ordered = valuesOf(g.ordered);
  if (ordered.some((s) => HIGH_BMP.test(s)) && ordered.some((s) => ASTRAL.test(s))) return "UTF-16 string order";
  // uint `/` whose dividend is ≥ 2^63: the quotient can be too (then @bufbuild/cel errs).
  for (const src of g.uintDividends) {
    const v = compileEvaluator(lowerExpression(src, { variables: {} }))(referenceRequest(req, path));
    if (typeof v === "bigint" && v >= 2n ** 63n) return "uint division range";
  }
  return null;
}

// --- The TypeScript reference ---

const KEY = keyAttribute("query", "key");
const SOURCE_MAPS = { query: "query", header: "header", cookie: "cookie", body: "body" } as const;

/** Consumer attribute `name` (`name`, `labels.X`) of `req`, as worker/request-attributes.ts reads it. */
function consumerAttribute(req: Req, name: string): string | undefined {
  if (req.consumer === undefined) return undefined;
  return name === "name" ? req.consumer.name : name.startsWith("labels.") ? req.consumer.labels[name.slice(7)] : undefined;
}

/** The reference's request view of `req`. */
export function referenceRequest(req: Req, path: string): EvalRequest {
  return {
    method: req.method,
    host: HOST,
    path,
    attribute: (source, name) => {
      if (source === "client") return name === "ip" ? req.ip : undefined;
      if (source === "cf") return req.cf[name as keyof Req["cf"]];
      if (source === "consumer") return consumerAttribute(req, name);
      return req[SOURCE_MAPS[source]][name];
    },
  };
}

/** The reference's verdict for condition `src` (key = query `key`). */
export function reference(src: string, req: Req, path: string): Outcome {
  const v = compileEvaluator(lowerCondition(src, KEY))(referenceRequest(req, path));
  if (v === ERROR) return "error";
  if (typeof v !== "boolean") throw new Error(`reference returned a non-bool ${String(v)}`);
  return v ? "match" : "no";
}

/**
 * The route-level reference verdict of a policy with condition `src` and key query `key`: a
 * policy is about its key, so without it the policy does not apply ("no", no error counted)
 * whatever the condition; with it, the condition's verdict.
 */
export function routeReference(src: string, req: Req, path: string): Outcome {
  return req.query.key === undefined ? "no" : reference(src, req, path);
}

// --- The system ---

/** Loads one snapshot: policy i (key = query `key`) guards exact route `/c<i>` and sends it to group `hit`. */
export function loadConditions(hot: HotPath, conditions: string[], version: bigint): void {
  const policies: PolicyConfig[] = conditions.map((c, i) => policy(i + 1, c, "hit", { key: "key" }));
  const model: ConfigModel = {
    groups: [group(1, "main", [instance(1, 1)]), group(2, "hit", [instance(2, 1)])],
    policies,
    routes: policies.map((p) => route(p.id, HOST, `/c${p.id}`, { match: "exact", policies: [p.name] })),
  };
  const loaded = hot.load(write(model, version));
  if (!loaded.ok) throw new Error(`snapshot refused: ${loaded.reason}`);
}

const VM_MAPS = { [Source.QUERY]: "query", [Source.HEADER]: "header", [Source.COOKIE]: "cookie", [Source.BODY]: "body" } as const;

/** `req` as the hot path's request for `path` on HOST. */
export function vmRequest(req: Req, path: string): DecideRequest {
  return {
    host: HOST,
    path,
    method: req.method,
    attribute: (source, name) => {
      if (source === Source.CLIENT) return req.ip;
      if (source === Source.CF) return req.cf[name as keyof Req["cf"]];
      if (source === Source.CONSUMER) return consumerAttribute(req, name);
      const m = VM_MAPS[source as keyof typeof VM_MAPS];
      return m === undefined ? undefined : req[m][name];
    },
  };
}

/** The VM's verdict for the condition loaded at `path`. */
export function vm(hot: HotPath, req: Req, path: string): Outcome {
  const r = hot.decide(vmRequest(req, path));
  if (r.status !== DecideStatus.OK) throw new Error(`decide status ${r.status}`);
  if (r.policy >= 0) return "match";
  return r.conditionErrors > 0 ? "error" : "no";
}

/** Tallies of one run: compared cases per outcome, and excluded ones per divergence. */
export type Tally = Record<string, number>;

/**
 * Checks one batch of cases (conditions loaded as one snapshot): VM = the route-level reference
 * (key gate) on every case, and reference = oracle unless a divergence applies.
 * @throws Error naming the condition, the request and the three verdicts on a disagreement.
 */
export function checkBatch(hot: HotPath, cases: { condition: Gen; requests: Req[] }[], version: bigint, tally: Tally): void {
  loadConditions(
    hot,
    cases.map((c) => c.condition.src),
    version,
  );
  cases.forEach((c, i) => {
    const evaluate = planOracle(c.condition.oracle);
    const path = `/c${i + 1}`;
    for (const req of c.requests) {
      const got = vm(hot, req, path);
      const routeRef = routeReference(c.condition.src, req, path);
      if (got !== routeRef) throw new Error(`${c.condition.src}\nrequest ${JSON.stringify(req)}\nVM: ${got}, reference: ${routeRef}`);
      tally.vmReference = (tally.vmReference ?? 0) + 1;
      if (req.query.key === undefined) tally.keyAbsent = (tally.keyAbsent ?? 0) + 1;
      const ref = reference(c.condition.src, req, path);
      const reason = divergence(c.condition, req, path);
      if (reason) {
        tally.excluded = (tally.excluded ?? 0) + 1;
        tally[reason] = (tally[reason] ?? 0) + 1;
        continue;
      }
      const want = oracle(evaluate, req, path);
      if (ref !== want) throw new Error(`${c.condition.src}\nrequest ${JSON.stringify(req)}\nreference: ${ref}, @bufbuild/cel: ${want}`);
      tally.compared = (tally.compared ?? 0) + 1;
      tally[want] = (tally[want] ?? 0) + 1;
    }
  });
}
