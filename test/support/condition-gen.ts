/**
 * fast-check generators for the condition differential (test/control/compiler/evaluate.test.ts,
 * test/control/compiler/fuzz-conditions.ts): well-typed conditions of the whole subset (docs/conditions.md) and
 * requests whose attributes are present or absent and hold the values most likely to find a
 * disagreement (numbers at the int64/uint64 edges, "", "abc", non-ASCII, lenient-number forms,
 * valid and invalid IP addresses).
 *
 * Each generated expression carries its Sluice source, the source the oracle evaluates (the same
 * but for `cidr("…").contains(x)`, which @bufbuild/cel lacks: `cidrContains("…", x)`), and what
 * divergence() needs: the strings that may reach int()/uint()/double() and the strings that may
 * be ordered.
 */
import fc from "fast-check";

export const MAX = 2n ** 63n - 1n;
export const MIN = -(2n ** 63n);
export const U64 = 2n ** 64n - 1n;
export const HOST = "api.example.com";

/** A request: absent attributes are undefined. */
export interface Req {
  method: string;
  query: Partial<Record<string, string>>;
  header: Partial<Record<string, string>>;
  cookie: Partial<Record<string, string>>;
  body: Partial<Record<string, string>>;
  ip?: string;
  cf: Partial<Record<"country" | "colo" | "asn", string>>;
  /** The consumer an auth plugin recognised; undefined when not authenticated. */
  consumer?: { name: string; labels: Partial<Record<string, string>> };
}

/** Values shared by string literals and request attributes, so equality and prefixes often hit. */
const WORDS = [
  "",
  "a",
  "ab",
  "abc",
  "bc",
  "abcabc",
  "abc".repeat(9),
  "é",
  "café",
  "日本",
  "😀",
  "a😀",
  "\uff21",
  "\ufffd",
  "7",
  "42",
  "-7",
  "+42",
  "0042",
  "-0",
  " 7",
  "7 ",
  "7\n",
  "0x10",
  "0b11",
  "1e3",
  "1.5",
  ".5",
  "5.",
  "-2.5e-3",
  "inf",
  "-Infinity",
  "NaN",
  "nan",
  "Infinity",
  "1_000",
  "0x1p-2",
  "+",
  "-",
  "GET",
  "aaa",
  "aab",
  "ddd",
  "9d",
];
const NUMERIC = [
  MAX,
  MIN,
  MAX + 1n,
  MIN - 1n,
  U64,
  U64 + 1n,
  10n ** 20n,
  2n ** 62n,
  3037000499n,
  3037000500n,
  -3037000500n,
  4294967296n,
].map(String);
const CHARS = ["a", "b", "c", "d", "0", "1", "9", "-", "+", ".", "e", " ", "é", "日", "😀", "\uff21"];

export const valueArb: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constantFrom(...WORDS), weight: 4 },
  { arbitrary: fc.constantFrom(...NUMERIC), weight: 2 },
  { arbitrary: fc.bigInt({ min: -(2n ** 65n), max: 2n ** 65n }).map(String), weight: 1 },
  { arbitrary: fc.integer({ min: -120, max: 120 }).map(String), weight: 2 },
  { arbitrary: fc.double({ noDefaultInfinity: true, noNaN: true }).map(String), weight: 1 },
  { arbitrary: fc.string({ unit: fc.constantFrom(...CHARS), maxLength: 6 }), weight: 1 },
);

const IPS = [
  "10.1.2.3",
  "10.255.0.1",
  "192.168.1.77",
  "8.8.8.8",
  "0.0.0.0",
  "::1",
  "::",
  "2001:db8::5",
  "2001:db9::1",
  "::ffff:10.1.2.3",
  "fe80::1",
  "FE80::A",
  "1:2:3:4:5:6:7:8",
  "::1.2.3.4",
  "010.1.2.3",
  "1.2.3",
  "1.2.3.256",
  "",
  "abc",
  "2001:db8::1%eth0",
  "1::2::3",
  "1:2:3:4:5:6:7:8:9",
  "::ffff:1.2.3",
];

const present = (names: readonly string[], values: fc.Arbitrary<string> = valueArb) =>
  fc.record(Object.fromEntries(names.map((n) => [n, fc.option(values, { nil: undefined, freq: 4 })]))) as fc.Arbitrary<
    Partial<Record<string, string>>
  >;

export const QUERY_NAMES = ["key", "a", "n"] as const;
export const HEADER_NAMES = ["x-a", "xn"] as const;
export const COOKIE_NAMES = ["c", "n"] as const;
export const BODY_NAMES = ["user.id", "a"] as const;
export const LABEL_NAMES = ["tier", "a.b"] as const;

export const requestArb: fc.Arbitrary<Req> = fc
  .record({
    method: fc.constantFrom("GET", "POST"),
    query: present(QUERY_NAMES),
    header: present(HEADER_NAMES),
    cookie: present(COOKIE_NAMES),
    body: present(BODY_NAMES),
    ip: fc.option(fc.constantFrom(...IPS), { nil: undefined, freq: 5 }),
    cf: fc.record({
      country: fc.option(fc.constantFrom("CN", "US", "DE", ""), { nil: undefined, freq: 3 }),
      colo: fc.option(fc.constantFrom("SJC", "HKG"), { nil: undefined, freq: 3 }),
      asn: fc.option(fc.constantFrom("13335", "0", "4294967295", "4134"), { nil: undefined, freq: 3 }),
    }) as fc.Arbitrary<Req["cf"]>,
    consumer: fc.option(fc.record({ name: valueArb, labels: present(LABEL_NAMES) }), { nil: undefined, freq: 3 }),
  })
  .map((req) => Object.assign(req, { [fc.toStringMethod]: () => JSON.stringify(req) }));

/** Where a string value comes from: a literal, or an attribute read from the request. */
export type Atom = { literal: string } | { read: (req: Req, path: string) => string | undefined };

/** A generated expression. */
export interface Gen extends fc.WithToStringMethod {
  src: string;
  /** The same expression for @bufbuild/cel. */
  oracle: string;
  /** For a string expression: the values it may take (derived strings are not tracked). */
  values: Atom[];
  intInputs: Atom[];
  uintInputs: Atom[];
  doubleInputs: Atom[];
  ordered: Atom[];
  /** Sources of the dividends of uint `/` (divergence 6 depends on their values). */
  uintDividends: string[];
}

type Extra = Partial<Pick<Gen, "values" | "intInputs" | "uintInputs" | "doubleInputs" | "ordered" | "uintDividends">> & { oracle?: string };

export const gen = (src: string, parts: Gen[] = [], more: Extra = {}): Gen => ({
  src,
  oracle: more.oracle ?? src,
  [fc.toStringMethod]: () => src, // counterexamples print as CEL source
  values: more.values ?? [],
  intInputs: [...parts.flatMap((p) => p.intInputs), ...(more.intInputs ?? [])],
  uintInputs: [...parts.flatMap((p) => p.uintInputs), ...(more.uintInputs ?? [])],
  doubleInputs: [...parts.flatMap((p) => p.doubleInputs), ...(more.doubleInputs ?? [])],
  ordered: [...parts.flatMap((p) => p.ordered), ...(more.ordered ?? [])],
  uintDividends: [...parts.flatMap((p) => p.uintDividends), ...(more.uintDividends ?? [])],
});
/** `f(a, b, …)` in both sources. */
const call = (f: (...x: string[]) => string, parts: Gen[], more: Extra = {}) =>
  gen(f(...parts.map((p) => p.src)), parts, { ...more, oracle: f(...parts.map((p) => p.oracle)) });

export const strLit = (s: string) => gen(JSON.stringify(s), [], { values: [{ literal: s }] });
const ternary = (c: Gen, a: Gen, b: Gen) =>
  call((x, y, z) => `(${x}) ? (${y}) : (${z})`, [c, a, b], { values: [...a.values, ...b.values] });
export const binary = (a: Gen, op: string, b: Gen) =>
  call((x, y) => `(${x}) ${op} (${y})`, [a, b], {
    ordered: ["<", "<=", ">", ">="].includes(op) && a.values.length + b.values.length > 0 ? [...a.values, ...b.values] : [],
  });
export const toInt = (s: Gen) => call((x) => `int(${x})`, [s], { intInputs: s.values });

const EDGE_INTS = [
  0n,
  1n,
  -1n,
  2n,
  3n,
  7n,
  10n,
  100n,
  MAX,
  MIN,
  MAX - 1n,
  MIN + 1n,
  2n ** 31n,
  -(2n ** 31n),
  2n ** 32n,
  3037000499n,
  2n ** 62n,
];
const intLit = fc
  .oneof(
    { arbitrary: fc.constantFrom(...EDGE_INTS), weight: 3 },
    { arbitrary: fc.bigInt({ min: -20n, max: 20n }), weight: 3 },
    { arbitrary: fc.bigInt({ min: MIN, max: MAX }), weight: 1 },
  )
  .map((v) => gen(`(${v})`));
const uintLit = fc
  .oneof(fc.constantFrom(0n, 1n, 2n, 7n, 100n, U64, U64 - 1n, 2n ** 63n, 2n ** 32n), fc.bigInt({ min: 0n, max: U64 }))
  .map((v) => gen(`${v}u`));
const DOUBLES = [
  "0.0",
  "-0.0",
  "0.5",
  "1.5",
  "-2.5",
  "1e300",
  "-1e308",
  "1e-320",
  "9007199254740993.0",
  "9.2233720368547758e18",
  "1.8446744073709552e19",
  "3.0",
];
const doubleLit = fc
  .oneof(
    fc.constantFrom(...DOUBLES),
    fc.double({ noDefaultInfinity: true, noNaN: true }).map((d) => (Number.isInteger(d) ? `${d}.0` : String(d))),
  )
  .filter((s) => !s.includes("e") || /^-?\d+(\.\d+)?e[+-]?\d+$/.test(s))
  .map((s) => gen(`(${s.replace("e+", "e")})`));

const query = (name: string) => (req: Req) => req.query[name];
/** String-valued attributes that are request slots. */
const STRING_ATTRS: { src: string; oracle?: string; read: (req: Req, path: string) => string | undefined }[] = [
  { src: "key", read: query("key") },
  { src: "request.query.key", read: query("key") },
  { src: "request.query.a", read: query("a") },
  { src: 'request.query["a"]', read: query("a") },
  { src: "request.query.n", read: query("n") },
  { src: 'request.header["x-a"]', read: (req) => req.header["x-a"] },
  { src: 'request.header["X-A"]', oracle: 'request.header["x-a"]', read: (req) => req.header["x-a"] },
  { src: "request.header.xn", read: (req) => req.header.xn },
  { src: "request.cookie.c", read: (req) => req.cookie.c },
  { src: 'request.cookie["n"]', read: (req) => req.cookie.n },
  { src: 'request.body["user.id"]', read: (req) => req.body["user.id"] },
  { src: "request.body.user.id", oracle: 'request.body["user.id"]', read: (req) => req.body["user.id"] },
  { src: "request.body.a", read: (req) => req.body.a },
  { src: "request.ip", read: (req) => req.ip },
  { src: "request.cf.country", read: (req) => req.cf.country },
  { src: "request.consumer.name", read: (req) => req.consumer?.name },
  { src: "request.consumer.labels.tier", read: (req) => req.consumer?.labels.tier },
  { src: 'request.consumer.labels["a.b"]', read: (req) => req.consumer?.labels["a.b"] },
];
const FIELD_ATTRS: typeof STRING_ATTRS = [
  { src: "request.method", read: (req) => req.method },
  { src: "request.host", read: () => HOST },
  { src: "request.path", read: (_, path) => path },
];
const attr = (a: (typeof STRING_ATTRS)[number]) => gen(a.src, [], { values: [{ read: a.read }], oracle: a.oracle ?? a.src });
const HAS_ATTRS = [
  "request.query.key",
  "request.query.a",
  "request.header.xn",
  "request.cookie.c",
  "request.cookie.n",
  "request.body.a",
  "request.ip",
  "request.cf.asn",
  "request.consumer.name",
  "request.consumer.labels.tier",
];
const PATTERNS = [
  "^a",
  "b+$",
  "a.c",
  "^[0-9]+$",
  "é",
  "😀",
  "\\d{2}",
  "(ab|c)*d",
  "^$",
  "[^a-c]",
  "\\s",
  ".",
  "x?y",
  "^-?[0-9]+(\\.[0-9]+)?$",
  "a{2,3}",
];
const CIDRS = [
  "10.0.0.0/8",
  "192.168.1.0/24",
  "0.0.0.0/0",
  "::/0",
  "2001:db8::/32",
  "::ffff:0:0/96",
  "10.1.2.3/32",
  "fe80::/10",
  "10.1.2.3/8",
  "::1.2.3.0/120",
];

const pick = <T>(...options: T[]) => fc.constantFrom(...options);
const memo = <T>(make: (depth: number) => fc.Arbitrary<T>) => {
  const cache = new Map<number, fc.Arbitrary<T>>();
  return (depth: number): fc.Arbitrary<T> => {
    let arb = cache.get(depth);
    if (!arb) {
      arb = make(depth);
      cache.set(depth, arb);
    }
    return arb;
  };
};
const w = <T>(arbitrary: fc.Arbitrary<T>, weight: number) => ({ arbitrary, weight });

export const strE = memo((d): fc.Arbitrary<Gen> => {
  const leaves = [
    w(valueArb.map(strLit), 2),
    w(fc.constantFrom(...STRING_ATTRS).map(attr), 4),
    w(fc.constantFrom(...FIELD_ATTRS).map(attr), 1),
  ];
  if (d === 0) return fc.oneof(...leaves);
  return fc.oneof(
    ...leaves,
    w(
      fc.tuple(boolE(d - 1), strE(d - 1), strE(d - 1)).map(([c, a, b]) => ternary(c, a, b)),
      1,
    ),
    w(
      fc.oneof(intE(d - 1), uintE(d - 1), boolE(d - 1)).map((x) => call((s) => `string(${s})`, [x])),
      1,
    ),
  );
});

export const intE = memo((d): fc.Arbitrary<Gen> => {
  const leaves = [
    w(intLit, 2),
    w(
      fc.constantFrom(...STRING_ATTRS.slice(0, 13)).map((a) => toInt(attr(a))),
      4,
    ),
    w(fc.constant(gen("request.cf.asn")), 1),
  ];
  if (d === 0) return fc.oneof(...leaves);
  const sub = intE(d - 1);
  return fc.oneof(
    ...leaves,
    w(strE(d - 1).map(toInt), 1),
    w(
      uintE(d - 1).map((u) => call((x) => `int(${x})`, [u])),
      1,
    ),
    w(
      doubleE(d - 1).map((x) => call((s) => `int(${s})`, [x])),
      1,
    ),
    w(
      fc.tuple(strE(d - 1), fc.boolean()).map(([s, m]) => call((x) => (m ? `(${x}).size()` : `size(${x})`), [s])),
      1,
    ),
    w(
      fc.tuple(sub, pick("+", "-", "*", "/", "%"), sub).map(([a, op, b]) => binary(a, op, b)),
      4,
    ),
    w(
      sub.map((a) => call((x) => `-(${x})`, [a])),
      1,
    ),
    w(
      fc.tuple(boolE(d - 1), sub, sub).map(([c, a, b]) => ternary(c, a, b)),
      1,
    ),
    w(
      fc
        .tuple(
          fc.oneof(strE(d - 1), sub),
          fc.oneof(
            fc.constantFrom(100n, 10000n, 1n, 2n ** 32n, 2n ** 40n).map((n) => gen(`${n}`)),
            sub,
          ),
        )
        .map(([x, n]) => call((a, b) => `bucket(${a}, ${b})`, [x, n])),
      1,
    ),
  );
});

export const uintE = memo((d): fc.Arbitrary<Gen> => {
  const leaves = [
    w(uintLit, 2),
    w(
      fc.constantFrom(...STRING_ATTRS.slice(0, 13)).map((a) => {
        const g = attr(a);
        return call((x) => `uint(${x})`, [g], { uintInputs: g.values });
      }),
      3,
    ),
  ];
  if (d === 0) return fc.oneof(...leaves);
  const sub = uintE(d - 1);
  return fc.oneof(
    ...leaves,
    w(
      intE(d - 1).map((i) => call((x) => `uint(${x})`, [i])),
      1,
    ),
    w(
      doubleE(d - 1).map((x) => call((s) => `uint(${s})`, [x])),
      1,
    ),
    w(
      fc.tuple(sub, pick("+", "-", "*", "/", "%"), sub).map(([a, op, b]) => {
        const g = binary(a, op, b);
        if (op === "/") g.uintDividends.push(a.src);
        return g;
      }),
      3,
    ),
    w(
      fc.tuple(boolE(d - 1), sub, sub).map(([c, a, b]) => ternary(c, a, b)),
      1,
    ),
  );
});

export const doubleE = memo((d): fc.Arbitrary<Gen> => {
  const leaves = [
    w(doubleLit, 2),
    w(
      fc.constantFrom(...STRING_ATTRS.slice(0, 13)).map((a) => {
        const g = attr(a);
        return call((x) => `double(${x})`, [g], { doubleInputs: g.values });
      }),
      3,
    ),
    w(
      valueArb.map((v) => {
        const g = strLit(v);
        return call((x) => `double(${x})`, [g], { doubleInputs: g.values });
      }),
      1,
    ),
  ];
  if (d === 0) return fc.oneof(...leaves);
  const sub = doubleE(d - 1);
  return fc.oneof(
    ...leaves,
    w(
      intE(d - 1).map((i) => call((x) => `double(${x})`, [i])),
      1,
    ),
    w(
      uintE(d - 1).map((i) => call((x) => `double(${x})`, [i])),
      1,
    ),
    w(
      fc.tuple(sub, pick("+", "-", "*", "/"), sub).map(([a, op, b]) => binary(a, op, b)),
      3,
    ),
    w(
      sub.map((a) => call((x) => `-(${x})`, [a])),
      1,
    ),
    w(
      fc.tuple(boolE(d - 1), sub, sub).map(([c, a, b]) => ternary(c, a, b)),
      1,
    ),
  );
});

const listOf = (items: fc.Arbitrary<Gen>) => fc.array(items, { maxLength: 4 }).map((l) => l.map((x) => x.src).join(", "));

export const boolE = memo((d): fc.Arbitrary<Gen> => {
  const leaves = [
    w(
      fc.boolean().map((b) => gen(String(b))),
      1,
    ),
    w(
      fc.constantFrom(...HAS_ATTRS).map((a) => gen(`has(${a})`)),
      1,
    ),
  ];
  const cmp = pick("==", "!=", "<", "<=", ">", ">=");
  const below = d === 0 ? 0 : d - 1;
  const [i, u, f, s] = [intE(below), uintE(below), doubleE(below), strE(below)];
  const tests = [
    w(
      fc.tuple(i, cmp, i).map(([a, op, b]) => binary(a, op, b)),
      5,
    ),
    w(
      fc.tuple(u, cmp, u).map(([a, op, b]) => binary(a, op, b)),
      2,
    ),
    w(
      fc.tuple(f, cmp, f).map(([a, op, b]) => binary(a, op, b)),
      2,
    ),
    w(
      fc.tuple(s, cmp, s).map(([a, op, b]) => binary(a, op, b)),
      4,
    ),
    w(
      fc.tuple(i, listOf(intLit)).map(([a, list]) => call((x) => `(${x}) in [${list}]`, [a])),
      2,
    ),
    w(
      fc.tuple(u, listOf(uintLit)).map(([a, list]) => call((x) => `(${x}) in [${list}]`, [a])),
      1,
    ),
    w(
      fc.tuple(f, listOf(doubleLit)).map(([a, list]) => call((x) => `(${x}) in [${list}]`, [a])),
      1,
    ),
    w(
      fc
        .tuple(s, fc.array(valueArb, { maxLength: 4 }))
        .map(([a, list]) => call((x) => `(${x}) in [${list.map((l) => JSON.stringify(l)).join(", ")}]`, [a])),
      3,
    ),
    w(
      fc.tuple(s, pick("startsWith", "endsWith", "contains"), s).map(([a, fn, b]) => call((x, y) => `(${x}).${fn}(${y})`, [a, b])),
      2,
    ),
    w(
      fc.tuple(s, pick(...PATTERNS)).map(([a, p]) => call((x) => `(${x}).matches(${JSON.stringify(p)})`, [a])),
      2,
    ),
    w(
      fc
        .tuple(s, pick(...CIDRS))
        .map(([a, c]) =>
          gen(`cidr(${JSON.stringify(c)}).contains(${a.src})`, [a], { oracle: `cidrContains(${JSON.stringify(c)}, ${a.oracle})` }),
        ),
      2,
    ),
  ];
  if (d === 0) return fc.oneof(...leaves, ...tests);
  const sub = boolE(d - 1);
  return fc.oneof(
    ...leaves,
    ...tests,
    w(
      fc.tuple(sub, pick("&&", "||"), sub).map(([a, op, b]) => binary(a, op, b)),
      6,
    ),
    w(
      sub.map((a) => call((x) => `!(${x})`, [a])),
      2,
    ),
    w(
      fc.tuple(sub, pick("==", "!=", "<", ">="), sub).map(([a, op, b]) => binary(a, op, b)),
      1,
    ),
    w(
      fc.tuple(sub, sub, sub).map(([c, a, b]) => ternary(c, a, b)),
      1,
    ),
  );
});

/** One generated condition with the requests it is checked against. */
export const caseArb = (requests: number) =>
  fc.record({ condition: boolE(3), requests: fc.array(requestArb, { minLength: requests, maxLength: requests }) });
