/**
 * Sluice's functions against independent oracles, through the WASM VM and the TypeScript
 * reference: `matches` (regexes compiled to DFAs in control) against re2js (an RE2 port; cel-go
 * uses RE2 semantics) on generated patterns and inputs; the IP parser behind
 * `cidr().contains()` against node:net; `bucket()`'s MurmurHash3 against published vectors, and
 * its stickiness and spread.
 */
import { isIP } from "node:net";
import fc from "fast-check";
import { RE2JS } from "re2js";
import { beforeAll, describe, expect, it } from "vitest";
import { compileRegex, RegexError, runDfa } from "../../../control/compiler/regex/index.ts";
import { DecideStatus, type HotPath } from "../../../wasm/host.ts";
import { parseIpText } from "../../../wasm/ip-text.ts";
import { bucketOf, murmur3Utf8 } from "../../../wasm/reference/bucket.ts";
import { group, instance, instantiate, policy, request, route, write } from "../../support/wasm-fixtures.ts";

type Outcome = "match" | "no" | "error";
let hot: HotPath;
let version = 0n;

beforeAll(async () => {
  ({ hot } = await instantiate());
});

/** Loads `conditions` (policy i on route /c<i>, key = query k) and returns a probe. */
function load(conditions: string[]): (i: number, attributes: Record<string, string>) => Outcome {
  const policies = conditions.map((c, i) => policy(i + 1, c, "hit"));
  version += 1n;
  const loaded = hot.load(
    write(
      {
        groups: [group(1, "main", [instance(1, 1)]), group(2, "hit", [instance(2, 1)])],
        policies,
        routes: policies.map((p) => route(p.id, "*", `/c${p.id}`, { match: "exact", policies: [p.name] })),
      },
      version,
    ),
  );
  if (!loaded.ok) throw new Error(loaded.reason);
  return (i, attributes) => {
    const r = hot.decide(request("a.test", `/c${i + 1}`, attributes));
    expect(r.status).toBe(DecideStatus.OK);
    return r.policy >= 0 ? "match" : r.conditionErrors > 0 ? "error" : "no";
  };
}

describe("matches: DFAs compiled in control agree with re2js", () => {
  // Patterns from a grammar over a small alphabet (so inputs often match), RE2 syntax that
  // ECMAScript `u` mode reads the same way.
  const atom = fc.constantFrom("a", "b", "é", "😀", ".", "[ab]", "[^a]", "\\d", "\\s", "\\w", "[a-c]", "\\.", "x");
  const piece = fc.tuple(atom, fc.constantFrom("", "", "*", "+", "?", "{2}", "{1,3}", "*?")).map(([a, q]) => a + q);
  const seq = fc.array(piece, { minLength: 1, maxLength: 4 }).map((p) => p.join(""));
  const pattern = fc
    .tuple(fc.constantFrom("", "^"), fc.array(seq, { minLength: 1, maxLength: 3 }), fc.constantFrom("", "$"), fc.boolean())
    .map(([a, alts, z, group]) => (group ? `${a}(${alts.join("|")})${z}` : `${a}${alts.join("|")}${z}`));
  const input = fc.string({ unit: fc.constantFrom("a", "b", "c", "é", "😀", "1", " ", ".", "x", "\n", "\r"), maxLength: 12 });

  it("on 200 generated patterns × 15 inputs: VM = reference = re2js", () => {
    const cases = fc.sample(fc.tuple(pattern, fc.array(input, { minLength: 15, maxLength: 15 })), { numRuns: 200, seed: 42 });
    const usable = cases.filter(([p]) => {
      try {
        compileRegex(p);
        return true;
      } catch (err) {
        if (err instanceof RegexError) return false;
        throw err;
      }
    });
    expect(usable.length).toBeGreaterThan(150);
    const probe = load(usable.map(([p]) => `key.matches(${JSON.stringify(p)})`));
    let matched = 0;
    usable.forEach(([p, inputs], i) => {
      const dfa = compileRegex(p);
      const re = RE2JS.compile(p);
      for (const s of inputs) {
        const want = re.matcher(s).find();
        expect({ p, s, reference: runDfa(dfa, s) }).toEqual({ p, s, reference: want });
        expect({ p, s, vm: probe(i, { "0:k": s }) }).toEqual({ p, s, vm: want ? "match" : "no" });
        if (want) matched++;
      }
    });
    expect(matched).toBeGreaterThan(usable.length); // not a degenerate all-false run
  });

  it("RE2's meanings where ECMAScript differs: `.` matches \\r, \\s is ASCII", () => {
    const probe = load(['key.matches("^a.b$")', 'key.matches("\\\\s")']);
    expect(probe(0, { "0:k": "a\rb" })).toBe("match");
    expect(probe(0, { "0:k": "a\nb" })).toBe("no");
    expect(probe(1, { "0:k": "\u00a0" })).toBe("no");
    expect(probe(1, { "0:k": "\t" })).toBe("match");
  });

  it("runs in linear time on inputs that make backtracking engines explode", () => {
    const probe = load(['key.matches("^(a+)+$")', 'key.matches("(a|aa)*c")']);
    const hostile = `${"a".repeat(200_000)}b`;
    const started = performance.now();
    expect(probe(0, { "0:k": hostile })).toBe("no");
    expect(probe(1, { "0:k": hostile })).toBe("no");
    // Generous: a linear scan of 200 KB takes well under a millisecond; backtracking would not end.
    expect(performance.now() - started).toBeLessThan(1000);
  });
});

describe("the IP parser agrees with node:net and with the reference", () => {
  const goodOctet = fc.integer({ min: 0, max: 255 }).map(String);
  const badOctet = fc.constantFrom("256", "01", "00", "999", "", "1a");
  const v4 = fc.oneof(
    { arbitrary: fc.array(goodOctet, { minLength: 4, maxLength: 4 }).map((o) => o.join(".")), weight: 4 },
    { arbitrary: fc.array(fc.oneof(goodOctet, badOctet), { minLength: 3, maxLength: 5 }).map((o) => o.join(".")), weight: 1 },
  );
  const goodHextet = fc.integer({ min: 0, max: 0xffff }).map((n) => n.toString(16));
  const hextet = fc.oneof(
    { arbitrary: goodHextet, weight: 8 },
    { arbitrary: fc.constantFrom("0000", "FFFF", "00000", "g", ""), weight: 1 },
  );
  // 8 groups, or fewer around one `::`, optionally ending in a dotted quad (worth two groups).
  const v6 = fc
    .tuple(
      fc.nat({ max: 8 }),
      fc.boolean(),
      fc.option(v4, { nil: undefined, freq: 3 }),
      fc.array(hextet, { minLength: 8, maxLength: 8 }),
      fc.nat({ max: 8 }),
    )
    .map(([n, ellipsis, tail, pool, at]) => {
      const count = ellipsis ? Math.min(n, tail === undefined ? 7 : 5) : tail === undefined ? 8 : 6;
      const groups = pool.slice(0, count);
      const cut = Math.min(at, groups.length);
      let s = ellipsis ? `${groups.slice(0, cut).join(":")}::${groups.slice(cut).join(":")}` : groups.join(":");
      if (tail !== undefined) s = s.endsWith(":") ? `${s}${tail}` : `${s}:${tail}`;
      return s;
    });
  const text = fc.oneof(
    { arbitrary: v4, weight: 3 },
    { arbitrary: v6, weight: 5 },
    { arbitrary: fc.string({ unit: fc.constantFrom("0", "1", "f", ":", ".", "%"), maxLength: 12 }), weight: 1 },
  );

  it("on 2,000 generated strings: valid exactly when node:net says so, with the same bytes", () => {
    const samples = fc.sample(text, { numRuns: 2000, seed: 5 });
    // Per sample: valid in the family (true/false per prefix), or an error when not an address.
    const conditions = samples.map((s) => {
      const parsed = parseIpText(s);
      const exact = parsed
        ? parsed.family === 4
          ? `${[...parsed.bytes.subarray(0, 4)].join(".")}/32`
          : `${Array.from({ length: 8 }, (_, i) => ((parsed.bytes[2 * i] as number) * 256 + (parsed.bytes[2 * i + 1] as number)).toString(16)).join(":")}/128`
        : "::/0";
      return `cidr(${JSON.stringify(exact)}).contains(key)`;
    });
    const probe = load(conditions);
    let valid = 0;
    samples.forEach((s, i) => {
      const node = isIP(s) !== 0 && !s.includes("%");
      const reference = parseIpText(s) !== undefined;
      expect({ s, reference }).toEqual({ s, reference: node });
      expect({ s, vm: probe(i, { "0:k": s }) }).toEqual({ s, vm: node ? "match" : "error" });
      if (node) valid++;
    });
    expect(valid).toBeGreaterThan(1000);
    expect(valid).toBeLessThan(1900);
  });

  it("keeps families apart as net/netip does", () => {
    const probe = load(['cidr("10.0.0.0/8").contains(key)', 'cidr("::ffff:0:0/96").contains(key)', 'cidr("::/0").contains(key)']);
    expect(probe(0, { "0:k": "10.1.2.3" })).toBe("match");
    expect(probe(0, { "0:k": "::ffff:10.1.2.3" })).toBe("no");
    expect(probe(1, { "0:k": "::ffff:10.1.2.3" })).toBe("match");
    expect(probe(1, { "0:k": "10.1.2.3" })).toBe("no");
    expect(probe(2, { "0:k": "10.1.2.3" })).toBe("no");
    expect(probe(1, { "0:k": "::1.2.3.4" })).toBe("no"); // IPv4-compatible, not mapped
  });
});

describe("bucket()", () => {
  it("MurmurHash3_x86_32 with seed 0 matches published vectors (TypeScript and VM)", () => {
    // smhasher / Wikipedia vectors for seed 0.
    const vectors: [string, number][] = [
      ["", 0],
      ["hello", 0x248bfa47],
      ["The quick brown fox jumps over the lazy dog", 0x2e4ff723],
      ["abc", 0xb3dd93fa],
    ];
    const probe = load(vectors.map(([, h]) => `bucket(key, 4294967296) == ${h}`));
    vectors.forEach(([s, h], i) => {
      expect(murmur3Utf8(s)).toBe(h);
      expect(probe(i, { "0:k": s })).toBe("match");
    });
  });

  it("sends the same 0.1 % of 100,000 users to the gray side every time, in TS and WASM", () => {
    const probe = load(["bucket(key, 1000) < 1"]);
    const gray: number[] = [];
    for (let uid = 0; uid < 100_000; uid++) {
      const inTs = (bucketOf(String(uid), 1000) as number) < 1;
      const inVm = probe(0, { "0:k": String(uid) }) === "match";
      expect(inVm).toBe(inTs);
      if (inVm) gray.push(uid);
    }
    // 0.1 % of 100,000 = 100; a binomial spread of ±3σ is ±30.
    expect(Math.abs(gray.length - 100)).toBeLessThanOrEqual(30);
    // A fresh instance (another isolate) picks the same users.
    expect(gray.slice(0, 5)).toEqual(gray.filter((uid) => (bucketOf(String(uid), 1000) as number) < 1).slice(0, 5));
  });

  it("hashes an int's decimal form: bucket(int(key), n) == bucket(key, n) for canonical keys", () => {
    const probe = load(["bucket(int(key), 977) == bucket(key, 977)"]);
    for (const k of ["0", "7", "-42", "9223372036854775807"]) expect(probe(0, { "0:k": k })).toBe("match");
    expect(probe(0, { "0:k": "007" })).toBe("no"); // "7" and "007" hash differently
  });
});
