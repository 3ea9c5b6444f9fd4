/**
 * API fuzz suite (issue 12): every operation of the OpenAPI document the app serves is driven
 * with fast-check requests built from its own schemas — mostly-valid bodies, then mutated ones
 * (a required field dropped, a wrong type, an unknown or prototype key, huge and odd strings,
 * numbers at and past their bounds, deep nesting, arrays for objects, malformed JSON text) — and
 * fuzzed path and query parameters. Every answer must be below 500; a 4xx must carry `error` and
 * `message`, a 400 a non-empty `fields` list of `{path, message}`, a 422 the `field` at fault.
 * A refused write must have recorded no revision (nothing half-applied). Afterwards everything
 * listed must fit the API's response schemas, hold only storable text, and compile into a
 * snapshot: nothing invalid was stored.
 *
 * Runs: FUZZ_API_RUNS (default 120) requests per body operation, a third of that per body-less
 * one: 2 960 requests, ~8 s on PGlite, ~7 s on PostgreSQL (2 cores). The seed changes per run and
 * is printed with a per-operation count of statuses; FUZZ_API_SEED replays one, e.g.
 * `FUZZ_API_RUNS=2000 FUZZ_API_SEED=42 npx vitest run test/control/api/fuzz.test.ts`.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { appkeyField, nameField, parseDurationMs, pathField } from "../../../control/api/fields.ts";
import {
  GroupSchema,
  InstanceSchema,
  PolicySchema,
  RouteSchema,
  ServiceSchema,
  TrafficCutSchema,
} from "../../../control/api/resource-schemas.ts";
import { loadConfigModel } from "../../../control/db/config.ts";
import { latestRevisionId } from "../../../control/db/revisions.ts";
import { writeSnapshot } from "../../../control/snapshot/writer.ts";
import { backends } from "../../support/backends.ts";
import { useApi } from "../../support/fixture.ts";

const RUNS = Number(process.env.FUZZ_API_RUNS ?? 120);
const SEED = Number(process.env.FUZZ_API_SEED ?? Date.now() % 2 ** 31);
/** Time for the fuzz test: ~75 ms per run on PGlite (1 500 runs: 111 s), with room to spare. */
const FUZZ_TIMEOUT_MS = 60_000 + RUNS * 150;

/** The subset of JSON Schema (OpenAPI 3.1) the API's document uses. */
interface Schema {
  $ref?: string;
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean | Schema;
  enum?: unknown[];
  const?: unknown;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  items?: Schema;
  minItems?: number;
  maxItems?: number;
  oneOf?: Schema[];
  anyOf?: Schema[];
  nullable?: boolean;
}

interface Operation {
  method: string;
  /** OpenAPI path template, e.g. `/v1/routes/{id}`. */
  path: string;
  pathParams: string[];
  query: { name: string; schema: Schema }[];
  headers: { name: string; schema: Schema }[];
  body: Schema | null;
}

/** Names of the rows created before the fuzzing, so fuzzed requests reach real ones too. */
interface Known {
  appkey: string;
  groups: string[];
  policy: string;
  ids: number[];
  /** Bearer token of an agent allowed `appkey`. */
  agentToken: string;
}

/** A request body: a value serialised by the test, or raw text sent as is. */
type Body = { json: unknown } | { raw: string } | null;

interface FuzzRequest {
  url: string;
  body: Body;
  /** Request headers besides authorization: a content type, header parameters. */
  headers: Record<string, string>;
  /** The agent's bearer token, on the paths agents may use; otherwise the admin token is sent. */
  token?: string;
}

/**
 * A marker for number text JSON.stringify cannot write (`-0`, `1e309`): serialise() swaps the
 * quoted marker for the bare text.
 */
const rawNumber = (text: string) => `\u0001${text}\u0001`;
const serialise = (value: unknown) => JSON.stringify(value).replace(/"\\u0001([^"\\]*)\\u0001"/g, "$1");

const ODD_STRINGS = [
  "",
  " ",
  "\u0000",
  "a\u0000b",
  "\ud800",
  "x\udc00",
  "😀",
  "\u202eabc",
  "e\u0301",
  "\ufffd",
  "\u2028",
  "\ufeff",
  "9".repeat(400),
  "__proto__",
  "constructor",
  "prototype",
  "toString",
  "../..",
  "%00",
  "a/b",
  "*",
  "null",
  "true",
  "0",
  "-1",
  "1e3",
  "A".repeat(65),
  "a".repeat(257),
  "a".repeat(1025),
];
const HUGE_STRINGS = ["a".repeat(100_000), "é".repeat(50_000), "😀".repeat(25_000), `/${"x/".repeat(40_000)}`];
const EDGE_NUMBERS = [0, -1, 1, 1.5, 0.1, -1e-7, 2 ** 31 - 1, 2 ** 31, 2 ** 53 + 1, 1e21, -1e21, Number.MAX_VALUE];
const RAW_NUMBERS = ["-0", "1e309", "-1e309", "1.0", "100e-2", "123456789012345678901234567890"];

const oddString = fc.oneof(fc.constantFrom(...ODD_STRINGS), fc.string({ unit: "binary", maxLength: 20 }), fc.string({ maxLength: 20 }));

/** `depth` levels of arrays or objects around a value. */
const nested = (depth: number, asArray: boolean): unknown => {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = asArray ? [value] : { a: value };
  return value;
};

/** Values of every JSON type, at and past common bounds. */
const weird: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(null, true, false, ...EDGE_NUMBERS),
  fc.constantFrom(...RAW_NUMBERS).map(rawNumber),
  oddString,
  fc.constantFrom(...HUGE_STRINGS),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.array(fc.oneof(fc.integer(), oddString), { maxLength: 3 }),
  fc.dictionary(oddString, fc.oneof(fc.integer(), oddString), { maxKeys: 3 }),
  fc.tuple(fc.integer({ min: 2, max: 40 }), fc.boolean()).map(([depth, asArray]) => nested(depth, asArray)),
  fc.constant(Array.from({ length: 20_000 }, (_, i) => i)),
);

const MALFORMED = [
  "",
  "{",
  "[]",
  "null",
  "1",
  '"x"',
  '{"a":}',
  "\ufeff{}",
  "{}garbage",
  "NaN",
  "{'a':1}",
  '{"a":1,"a":2}',
  "[".repeat(100_000),
  `${"[".repeat(5_000)}${"]".repeat(5_000)}`,
];

/** Content types a body may come with: mostly application/json, then other JSON ones and non-JSON ones. */
const CONTENT_TYPE = fc.oneof(
  { weight: 6, arbitrary: fc.constant("application/json") },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      "Application/JSON",
      "application/json; charset=utf-8",
      "application/merge-patch+json",
      "application/vnd.sluice+json",
    ),
  },
  { weight: 1, arbitrary: fc.constantFrom("text/plain", "application/x-www-form-urlencoded", "multipart/form-data", "application/jsonx") },
);
/** Header values a Request can carry (printable ASCII: other text is refused by fetch itself). */
const headerText = fc.oneof(
  fc.stringMatching(/^[\x20-\x7e]{0,40}$/),
  fc.constantFrom('"sha256-fuzz"', "*", 'W/"sha256-fuzz"', "sha256-fuzz, *"),
);

const CONDITIONS = ["key == 'vip'", "true", "key in ['a', 'b']", "key.startsWith('a')", "key == 'a' && key != 'b'"];
const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((parts) => parts.join("."));
const pathSegment = fc.stringMatching(/^[a-z0-9_-]{1,8}$/);
const routePath = fc.array(pathSegment, { maxLength: 3 }).map((segments) => `/${segments.join("/")}`);

/** Marks an optional property left out. */
const ABSENT = Symbol("absent");

/** Follows `$ref: "#/components/schemas/X"` into the document. */
function resolve(schema: Schema, doc: { components: { schemas: Record<string, Schema> } }): Schema {
  let out = schema;
  while (out.$ref) out = doc.components.schemas[out.$ref.replace("#/components/schemas/", "")];
  return out;
}

/**
 * A fast-check arbitrary of values that fit `schema` (mostly: a property `hints` knows is drawn
 * from real names and ids as well, so writes reach real rows; 1 integer in 20 is just out of
 * bounds). Strings and arrays are kept short; the mutations bring the long ones.
 */
function arbitraryOf(
  schema: Schema,
  doc: Parameters<typeof resolve>[1],
  hints: Record<string, fc.Arbitrary<unknown>>,
): fc.Arbitrary<unknown> {
  const s = resolve(schema, doc);
  const variants = s.oneOf ?? s.anyOf;
  if (variants) return fc.oneof(...variants.map((v) => arbitraryOf(v, doc, hints)));
  if (s.const !== undefined) return fc.constant(s.const);
  if (s.enum) return fc.constantFrom(...s.enum);
  if (Array.isArray(s.type)) return fc.oneof(...s.type.map((type) => arbitraryOf({ ...s, type }, doc, hints)));
  const orNull = (arb: fc.Arbitrary<unknown>) => (s.nullable ? fc.option(arb) : arb);
  switch (s.type) {
    case "null":
      return fc.constant(null);
    case "boolean":
      return orNull(fc.boolean());
    case "integer": {
      const min = s.minimum ?? -1_000_000;
      const max = s.maximum ?? 1_000_000;
      // 1 in 20 just past a bound, or a fraction where an integer is expected.
      const outside = fc.constantFrom(min - 1, max + 1, min + 0.5);
      return orNull(fc.oneof({ weight: 19, arbitrary: fc.integer({ min, max }) }, { weight: 1, arbitrary: outside }));
    }
    case "number":
      return orNull(fc.double({ min: s.minimum ?? -1e6, max: s.maximum ?? 1e6, noNaN: true }));
    case "string":
      if (s.pattern) return orNull(fc.stringMatching(new RegExp(s.pattern)).filter((v) => v.length <= (s.maxLength ?? Infinity)));
      return orNull(fc.string({ minLength: s.minLength ?? 0, maxLength: Math.min(s.maxLength ?? 20, 20) }));
    case "array":
      return orNull(
        fc.array(arbitraryOf(s.items ?? {}, doc, hints), { minLength: s.minItems ?? 0, maxLength: Math.min(s.maxItems ?? 4, 4) }),
      );
    case "object": {
      const properties = s.properties ?? {};
      const record: Record<string, fc.Arbitrary<unknown>> = {};
      for (const [name, property] of Object.entries(properties)) {
        const plain = arbitraryOf(property, doc, hints);
        record[name] = hints[name] ? fc.oneof({ weight: 3, arbitrary: hints[name] }, { weight: 1, arbitrary: plain }) : plain;
      }
      // An optional property in 1 of 4 bodies: with each one a chance to break a cross-field rule,
      // fewer of them keep more bodies valid (the omitted ones take valid defaults).
      const required = new Set(s.required ?? []);
      const fields = Object.entries(record).map(([name, arb]) =>
        (required.has(name) ? arb : fc.oneof({ weight: 3, arbitrary: fc.constant(ABSENT) }, { weight: 1, arbitrary: arb })).map(
          (value) => [name, value] as const,
        ),
      );
      const fixed = fc.tuple(...fields).map((pairs) => Object.fromEntries(pairs.filter(([, value]) => value !== ABSENT)));
      if (typeof s.additionalProperties !== "object") return orNull(fixed);
      const extra = fc.dictionary(fc.string({ minLength: 1, maxLength: 12 }), arbitraryOf(s.additionalProperties, doc, hints), {
        maxKeys: 3,
      });
      return orNull(fc.tuple(fixed, extra).map(([a, b]) => ({ ...b, ...a })));
    }
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

/** Every container and leaf of a JSON value, as key paths (`[]` is the value itself). */
function pathsOf(value: unknown, at: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(at);
  if (value === null || typeof value !== "object") return out;
  for (const [k, v] of Object.entries(value)) pathsOf(v, [...at, Array.isArray(value) ? Number(k) : k], out);
  return out;
}

/**
 * `drop` the picked field, `replace` it with `value`, `add` the unknown `key` to the picked object,
 * or `taint` the picked string (of the strings only) by appending `suffix`, keeping the rest valid.
 */
type Mutation = { op: "drop" | "replace" | "add" | "taint"; pick: number; key: string; value: unknown; suffix: string };

/** Applies a mutation at the `pick`-th path of a copy of `value`. */
function mutate(value: unknown, m: Mutation): unknown {
  const root = { v: structuredClone(value) };
  const all = pathsOf(root.v);
  const strings = all.filter((p) => typeof p.reduce<unknown>((o, k) => (o as Record<string | number, unknown>)[k], root.v) === "string");
  const paths = m.op === "taint" && strings.length > 0 ? strings : all;
  const path = ["v", ...paths[m.pick % paths.length]];
  const parent = path.slice(0, -1).reduce<Record<string | number, unknown>>((o, k) => o[k] as Record<string | number, unknown>, root);
  const last = path[path.length - 1];
  const target = parent[last];
  if (m.op === "drop" && last !== "v") {
    if (Array.isArray(parent)) parent.splice(last as number, 1);
    else delete parent[last];
  } else if (m.op === "taint" && typeof target === "string") {
    parent[last] = target + m.suffix;
  } else if (m.op === "add" && target !== null && typeof target === "object" && !Array.isArray(target)) {
    // defineProperty: a key like `__proto__` must become an own, serialised property.
    Object.defineProperty(target, m.key, { value: m.value, enumerable: true, writable: true, configurable: true });
  } else {
    parent[last] = m.value;
  }
  return root.v;
}

const mutation: fc.Arbitrary<Mutation> = fc.record({
  op: fc.constantFrom("drop", "replace", "add", "taint"),
  pick: fc.nat(),
  key: fc.oneof(fc.constantFrom("__proto__", "constructor", "prototype", "hasOwnProperty", "", "extra", "a.b"), oddString),
  value: weird,
  suffix: fc.oneof(
    fc.constantFrom("\u0000", "\ud800", "\udc00"),
    fc.constantFrom("😀", "\u2028", "\ufffd", "\u202e", "\u0301", " ", "/", "%00", "\\"),
  ),
});

/**
 * A body: mostly-valid (3 in 10), one string of it tainted (so that the rest still passes and the
 * text reaches the handler), mutated 1–3 times, or raw malformed text.
 */
function bodyOf(valid: fc.Arbitrary<unknown>): fc.Arbitrary<Body> {
  const taint = mutation.map((m) => ({ ...m, op: "taint" as const }));
  return fc.oneof(
    { weight: 3, arbitrary: valid.map((json) => ({ json })) },
    { weight: 2, arbitrary: fc.tuple(valid, taint).map(([v, m]) => ({ json: mutate(v, m) })) },
    {
      weight: 4,
      arbitrary: fc.tuple(valid, fc.array(mutation, { minLength: 1, maxLength: 3 })).map(([v, ms]) => ({ json: ms.reduce(mutate, v) })),
    },
    { weight: 1, arbitrary: fc.constantFrom(...MALFORMED).map((raw) => ({ raw })) },
  );
}

/** A generated value as parameter text: strings as they are, anything else as JSON. */
const asText = (value: unknown) => (typeof value === "string" ? value : JSON.stringify(value));

/** encodeURIComponent, with a lone surrogate written as the (invalid) UTF-8 of a surrogate. */
function encodeSegment(text: string): string {
  return Array.from(text, (ch) => (ch.isWellFormed() ? encodeURIComponent(ch) : "%ED%A0%80")).join("");
}

const RAW_SEGMENTS = ["%00", "%2F", "..", ".", "%ZZ", "%", "%C0%AF", "%ED%A0%80", "%2e%2e"];
const BAD_IDS = ["0", "-1", "01", "1.5", "1e3", "2147483648", "99999999999999999999", "abc", " 1", "0x10"];

/** A path parameter: mostly a real appkey, name or id (4 in 5), else odd, raw-escaped or bad-id text. */
function pathParamOf(name: string, known: Known): fc.Arbitrary<string> {
  const real =
    name === "appkey"
      ? fc.constant(known.appkey)
      : name === "id"
        ? fc.constantFrom(...known.ids.map(String))
        : fc.constantFrom(...known.groups, known.policy);
  const fuzzed = fc.oneof(oddString.map(encodeSegment), fc.constantFrom(...RAW_SEGMENTS), fc.constantFrom(...BAD_IDS));
  return fc.oneof({ weight: 4, arbitrary: real }, { weight: 1, arbitrary: fuzzed });
}

/** A query value: one fitting the parameter's schema, odd text or a bad id. */
function queryValueOf(name: string, schema: Schema, doc: Parameters<typeof resolve>[1]): fc.Arbitrary<string> {
  // A long poll would hold the run for its whole wait: only waits of ≤ 10 ms and invalid ones.
  if (name === "wait") return oddString.filter((text) => (parseDurationMs(text) ?? 0) <= 10);
  return fc.oneof(arbitraryOf(schema, doc, {}).map(asText), oddString, fc.constantFrom(...BAD_IDS));
}

/** Requests for one operation: path parameters, 0–3 query values, a body, a content type, header parameters. */
function requestOf(op: Operation, doc: Parameters<typeof resolve>[1], known: Known, hints: Record<string, fc.Arbitrary<unknown>>) {
  const params = fc.tuple(...op.pathParams.map((name) => pathParamOf(name, known)));
  const query = fc.array(
    fc
      .constantFrom(...(op.query.length > 0 ? op.query : [{ name: "x", schema: {} }]))
      .chain(({ name, schema }) => queryValueOf(name, schema, doc).map((value) => [name, value] as const)),
    { maxLength: op.query.length > 0 ? 3 : 1 },
  );
  const body: fc.Arbitrary<Body> = op.body ? bodyOf(arbitraryOf(op.body, doc, hints)) : fc.constant(null);
  const headers = fc.record(
    Object.fromEntries([
      ["content-type", CONTENT_TYPE],
      ...op.headers.map(({ name, schema }) => [name, fc.oneof(arbitraryOf(schema, doc, {}).map(asText), headerText)]),
    ]),
    { requiredKeys: ["content-type"] },
  ) as fc.Arbitrary<Record<string, string>>;
  const agentPath = op.path.startsWith("/v1/registry/") || op.path === "/v1/propagation";
  const token = agentPath ? fc.option(fc.constant(known.agentToken), { nil: undefined }) : fc.constant(undefined);
  return fc.tuple(params, query, body, headers, token).map(([values, pairs, b, h, t]): FuzzRequest => {
    let url = op.path;
    op.pathParams.forEach((name, i) => {
      url = url.replace(`{${name}}`, values[i]);
    });
    const search = pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeSegment(v)}`).join("&");
    return { url: search ? `${url}?${search}` : url, body: b, headers: h, token: t };
  });
}

/** What is wrong with one answer, or null when it keeps the API's error contract. */
function contractBreach(status: number, body: Record<string, unknown> | null): string | null {
  if (status >= 500) return `status ${status}`;
  if (status < 400) return null;
  if (typeof body?.error !== "string" || typeof body.message !== "string") return "4xx without error and message";
  if (status === 400) {
    const fields = body.fields as { path?: unknown; message?: unknown }[] | undefined;
    if (!Array.isArray(fields) || fields.length === 0) return "400 without fields";
    if (!fields.every((f) => typeof f.path === "string" && typeof f.message === "string")) return "400 field without path or message";
  }
  if (status === 422 && typeof body.field !== "string" && !Array.isArray(body.fields)) return "422 without field";
  return null;
}

/** Every string in a value (keys too) that cannot be stored exactly. */
function badText(value: unknown, at = ""): string[] {
  if (typeof value === "string") return value.isWellFormed() && !value.includes("\u0000") ? [] : [at];
  if (value === null || typeof value !== "object") return [];
  return Object.entries(value).flatMap(([k, v]) => [...badText(k, `${at}.key`), ...badText(v, `${at}.${k}`)]);
}

const METHOD_ORDER = ["post", "put", "patch", "get", "delete"];

describe.each(backends())("API fuzz on $name", (backend) => {
  const api = useApi(backend);

  it(
    "answers every fuzzed request below 500, naming the field of every 400 and 422",
    async () => {
      const started = performance.now();
      console.log(`api fuzz on ${backend.name}: seed ${SEED}, ${RUNS} runs per body operation (FUZZ_API_SEED, FUZZ_API_RUNS)`);
      const known = await createKnownRows(api);
      // GET /v1/snapshot answers 503 until a snapshot exists; serve one so its parameters are fuzzed.
      api.snapshot = {
        version: 1n,
        etag: "sha256-fuzz",
        body: writeSnapshot(await loadConfigModel(api.db), { version: 1n, builtAtMs: 0 }),
      };
      const doc = (await api.client.get("/v1/openapi.json")).body;
      const operations: Operation[] = [];
      for (const [path, methods] of Object.entries(doc.paths as Record<string, Record<string, Record<string, unknown>>>)) {
        for (const [method, spec] of Object.entries(methods)) {
          const parameters = (spec.parameters ?? []) as { in: string; name: string; schema: Schema }[];
          const content = (spec.requestBody as { content: Record<string, { schema: Schema }> } | undefined)?.content;
          operations.push({
            method: method.toUpperCase(),
            path,
            pathParams: parameters.filter((p) => p.in === "path").map((p) => p.name),
            query: parameters.filter((p) => p.in === "query"),
            headers: parameters.filter((p) => p.in === "header"),
            body: content?.["application/json"]?.schema ?? null,
          });
        }
      }
      // Deletes last, so the writes before them meet the rows created above; the agent token's
      // delete after every other, so the agent's requests meet a live token.
      const rank = (op: Operation) => METHOD_ORDER.indexOf(op.method.toLowerCase()) * 2 + Number(op.path.startsWith("/v1/agent-tokens/"));
      operations.sort((a, b) => rank(a) - rank(b));
      const hints = hintsFor(known);
      const counts = new Map<string, Map<number, number>>();
      for (const op of operations) {
        const label = `${op.method} ${op.path}`;
        const perStatus = new Map<number, number>();
        counts.set(label, perStatus);
        const runs = op.body ? RUNS : Math.max(1, Math.round(RUNS / 3));
        const writes = op.method !== "GET";
        await fc.assert(
          fc.asyncProperty(requestOf(op, doc, known, hints), async (request) => {
            const raw = request.body && ("raw" in request.body ? request.body.raw : serialise(request.body.json));
            const before = writes ? await latestRevisionId(api.db) : 0;
            const res = await api.client.call(op.method, request.url, undefined, {
              raw: raw ?? undefined,
              headers: request.headers,
              token: request.token,
            });
            perStatus.set(res.status, (perStatus.get(res.status) ?? 0) + 1);
            // A refused write changed nothing: no revision was recorded for it.
            const halfApplied = writes && res.status >= 400 && (await latestRevisionId(api.db)) !== before;
            const breach = halfApplied ? `a ${res.status} recorded a revision` : contractBreach(res.status, res.body);
            if (breach) throw new Error(`${label} → ${request.url}: ${breach}: ${JSON.stringify(res.body)}`);
          }),
          { numRuns: runs, seed: SEED, endOnFailure: false },
        );
      }
      const lines = [...counts].map(([label, m]) => `${label.padEnd(58)} ${[...m].map(([s, n]) => `${s}×${n}`).join(" ")}`);
      const total = [...counts.values()].reduce((n, m) => n + [...m.values()].reduce((a, b) => a + b, 0), 0);
      console.log(`${lines.join("\n")}\n${operations.length} operations, ${total} requests, ${Math.round(performance.now() - started)} ms`);
    },
    FUZZ_TIMEOUT_MS,
  );

  it("stored nothing invalid: every listed resource fits its schema and the configuration compiles", async () => {
    const listed: { what: string; items: unknown[]; schema?: { parse(v: unknown): unknown } }[] = [];
    const list = async (url: string) => {
      const res = await api.client.get(url);
      expect(res.status).toBe(200);
      return res.body.items as Record<string, unknown>[];
    };
    const services = await list("/v1/services");
    listed.push({ what: "services", items: services, schema: ServiceSchema });
    for (const { appkey } of services) {
      expect(appkeyField.safeParse(appkey).success).toBe(true);
      const groups = await list(`/v1/services/${appkey}/groups`);
      listed.push({ what: `groups of ${appkey}`, items: groups, schema: GroupSchema });
      for (const { name } of groups) {
        expect(nameField.safeParse(name).success).toBe(true);
        listed.push({
          what: `instances of ${appkey}/${name}`,
          items: await list(`/v1/services/${appkey}/groups/${name}/instances`),
          schema: InstanceSchema,
        });
      }
    }
    listed.push({ what: "policies", items: await list("/v1/policies"), schema: PolicySchema });
    const routes = await list("/v1/routes");
    listed.push({ what: "routes", items: routes, schema: RouteSchema });
    for (const route of routes) expect(pathField.safeParse(route.path).success, String(route.path)).toBe(true);
    listed.push({ what: "traffic cuts", items: await list("/v1/traffic-cuts"), schema: TrafficCutSchema });
    listed.push({ what: "revisions", items: await list("/v1/revisions?limit=500") });
    listed.push({ what: "agent tokens", items: await list("/v1/agent-tokens") });
    for (const { what, items, schema } of listed) {
      for (const item of items) {
        if (schema) expect(() => schema.parse(item), what).not.toThrow();
        expect(badText(item), `${what}: ${JSON.stringify(item).slice(0, 200)}`).toEqual([]);
      }
    }
    const model = await loadConfigModel(api.db);
    expect(writeSnapshot(model, { version: 1n, builtAtMs: 0 }).byteLength).toBeGreaterThan(0);
  });
});

/** A service with groups blue and green, an instance, a policy, a route, a cut and an agent token. */
async function createKnownRows(api: ReturnType<typeof useApi>): Promise<Known> {
  const appkey = "fuzz.svc";
  const ok = async (path: string, body: unknown) => {
    const res = await api.client.post(path, body);
    expect(res.status, `${path}: ${JSON.stringify(res.body)}`).toBe(201);
    return res.body as { id?: number };
  };
  await ok("/v1/services", { appkey });
  for (const name of ["blue", "green"]) await ok(`/v1/services/${appkey}/groups`, { name });
  const instance = await ok(`/v1/services/${appkey}/groups/blue/instances`, { host: "10.0.0.1", port: 8080 });
  const policy = "fuzz-pol";
  await ok("/v1/policies", { name: policy, category: "public", key: "uid", passway: "header", condition: "key == 'vip'", group: "green" });
  const route = await ok("/v1/routes", { appkey, path: "/fuzz", defaultGroup: "blue", policies: [policy] });
  const cut = await ok("/v1/traffic-cuts", { kind: "group", appkey, group: "green" });
  const agent = (await ok("/v1/agent-tokens", { name: "fuzz-agent", appkeys: [appkey] })) as { id: number; token: string };
  const ids = [instance.id, route.id, cut.id, agent.id].filter((id): id is number => typeof id === "number");
  return { appkey, groups: ["blue", "green"], policy, ids, agentToken: agent.token };
}

/** Property-name hints: real names and ids, valid paths, hosts and CEL conditions. */
function hintsFor(known: Known): Record<string, fc.Arbitrary<unknown>> {
  const group = fc.constantFrom(...known.groups);
  const id = fc.constantFrom(...known.ids);
  return {
    appkey: fc.constant(known.appkey),
    group,
    defaultGroup: group,
    toGroup: group,
    policies: fc.array(fc.constant(known.policy), { maxLength: 1 }),
    appkeys: fc.constant([known.appkey]),
    instanceId: id,
    routeId: id,
    id,
    path: routePath,
    host: fc.oneof(fc.constant("*"), ipv4, fc.constantFrom("api.example.com", "*.example.com", "fd00::1")),
    condition: fc.constantFrom(...CONDITIONS),
  };
}
