/**
 * worker/telemetry/trace-context.ts against W3C Trace Context level 1: a table of `traceparent`
 * and `tracestate` values (the spec's examples and its invalid cases), and properties —
 * format(parse(x)) gives x back for every valid version-00 value, parse never throws.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  acceptTracestate,
  formatTraceparent,
  isSampled,
  parseTraceparent,
  randomSpanId,
  randomTraceId,
  TRACESTATE_MAX_CHARS,
} from "../../../worker/telemetry/trace-context.ts";

const TRACE = "0af7651916cd43dd8448eb211c80319c";
const PARENT = "b7ad6b7169203331";

describe("parseTraceparent", () => {
  it.each([
    // [value, expected (version, traceId, parentId, flags) or null]
    [`00-${TRACE}-${PARENT}-01`, { version: 0, traceId: TRACE, parentId: PARENT, flags: 1 }],
    [`00-${TRACE}-${PARENT}-00`, { version: 0, traceId: TRACE, parentId: PARENT, flags: 0 }],
    // Flag bits other than sampled are read as they are (§3.2.2.5); the tracer sends only its own.
    [`00-${TRACE}-${PARENT}-ff`, { version: 0, traceId: TRACE, parentId: PARENT, flags: 0xff }],
    // A future version: its first four fields are read, later ones ignored (§4.3).
    [`01-${TRACE}-${PARENT}-01`, { version: 1, traceId: TRACE, parentId: PARENT, flags: 1 }],
    [`cc-${TRACE}-${PARENT}-01-what-the-future-will-be-like`, { version: 0xcc, traceId: TRACE, parentId: PARENT, flags: 1 }],
    // Invalid: absent, version ff, uppercase, non-hex, zero ids, lengths, separators.
    [null, null],
    ["", null],
    [`ff-${TRACE}-${PARENT}-01`, null],
    [`00-${TRACE.toUpperCase()}-${PARENT}-01`, null],
    [`00-${TRACE}-${PARENT.toUpperCase()}-01`, null],
    [`00-${TRACE}-${PARENT}-0A`, null],
    [`0A-${TRACE}-${PARENT}-01`, null],
    [`00-${TRACE.replace("a", "g")}-${PARENT}-01`, null],
    [`00-${"0".repeat(32)}-${PARENT}-01`, null],
    [`00-${TRACE}-${"0".repeat(16)}-01`, null],
    [`00-${TRACE}-${PARENT}-01-`, null],
    [`00-${TRACE}-${PARENT}-01-extra`, null],
    [`00-${TRACE.slice(1)}-${PARENT}-01`, null],
    [`00-${TRACE}-${PARENT.slice(1)}-01`, null],
    [`00-${TRACE}-${PARENT}-1`, null],
    [`00_${TRACE}_${PARENT}_01`, null],
    [`01-${TRACE}-${PARENT}-01extra`, null],
    // Two traceparent fields joined by Headers.get.
    [`00-${TRACE}-${PARENT}-01, 00-${TRACE}-${PARENT}-01`, null],
  ])("%s", (value, expected) => {
    expect(parseTraceparent(value)).toEqual(expected);
  });
});

describe("formatTraceparent", () => {
  it("writes version 00 with two-digit flags, whatever version was parsed", () => {
    expect(formatTraceparent(TRACE, PARENT, 1)).toBe(`00-${TRACE}-${PARENT}-01`);
    expect(formatTraceparent(TRACE, PARENT, 0)).toBe(`00-${TRACE}-${PARENT}-00`);
    const future = parseTraceparent(`cc-${TRACE}-${PARENT}-01-more`)!;
    expect(formatTraceparent(future.traceId, future.parentId, future.flags)).toBe(`00-${TRACE}-${PARENT}-01`);
  });

  it("isSampled reads bit 0 only", () => {
    expect([0, 1, 2, 3, 0xfe, 0xff].map(isSampled)).toEqual([false, true, false, true, false, true]);
  });
});

const hex = (length: number) => fc.stringMatching(new RegExp(`^[0-9a-f]{${length}}$`));
const validTraceparent = fc
  .tuple(hex(32), hex(16), hex(2))
  .filter(([t, p]) => !/^0+$/.test(t) && !/^0+$/.test(p))
  .map(([t, p, f]) => `00-${t}-${p}-${f}`);

describe("traceparent properties", () => {
  it("format(parse(x)) === x for every valid version-00 value", () => {
    fc.assert(
      fc.property(validTraceparent, (value) => {
        const parsed = parseTraceparent(value);
        expect(parsed).not.toBeNull();
        expect(formatTraceparent(parsed!.traceId, parsed!.parentId, parsed!.flags)).toBe(value);
      }),
      { numRuns: 2000 },
    );
  });

  it("parse never throws, and anything it accepts is lowercase hex of the right lengths", () => {
    const nearlyValid = validTraceparent.chain((v) =>
      fc
        .tuple(fc.nat(v.length), fc.string({ maxLength: 3 }), fc.nat(3))
        .map(([at, insert, cut]) => v.slice(0, at) + insert + v.slice(at + cut)),
    );
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: "binary" }), nearlyValid), (value) => {
        const parsed = parseTraceparent(value);
        if (parsed) {
          expect(parsed.traceId).toMatch(/^[0-9a-f]{32}$/);
          expect(parsed.parentId).toMatch(/^[0-9a-f]{16}$/);
          expect(parsed.flags).toBeGreaterThanOrEqual(0);
          expect(parsed.flags).toBeLessThanOrEqual(255);
        }
      }),
      { numRuns: 5000 },
    );
  });

  it("random ids are lowercase hex, non-zero and valid in a traceparent", () => {
    for (let i = 0; i < 200; i += 1) {
      const t = randomTraceId();
      const s = randomSpanId();
      expect(t).toMatch(/^[0-9a-f]{32}$/);
      expect(s).toMatch(/^[0-9a-f]{16}$/);
      expect(parseTraceparent(formatTraceparent(t, s, 1))).toEqual({ version: 0, traceId: t, parentId: s, flags: 1 });
    }
  });
});

describe("acceptTracestate", () => {
  const members = (n: number) => Array.from({ length: n }, (_, i) => `k${i}=v${i}`).join(",");
  it.each([
    // [value, kept]
    ["congo=t61rcWkgMzE", true],
    ["rojo=00f067aa0ba902b7,congo=t61rcWkgMzE", true],
    ["rojo=00f067aa0ba902b7 , congo=t61rcWkgMzE", true],
    ["fw529a3039@dt=1,vendor@sys=x y", true],
    ["a=1,,b=2", true], // empty list-members are allowed (§3.3.1.1)
    [members(32), true],
    [members(33), false],
    [`a=${"x".repeat(TRACESTATE_MAX_CHARS - 2)}`, false], // 512 characters, but a value longer than 256 (§3.3.1.3.2)
    [`${"k".repeat(200)}=${"v".repeat(250)},b=${"w".repeat(50)}`, true],
    [`${"k".repeat(200)}=${"v".repeat(250)},b=${"w".repeat(60)}`, false], // 513 characters
    [null, false],
    ["", false],
    ["Upper=1", false],
    ["a=", false],
    ["a=b=c", false],
    ["a=trailing ", true], // OWS around list-members is trimmed
    ["a=x\u0001", false],
    ["1a=x", false],
    ["a@B=x", false],
  ])("%s", (value, kept) => {
    expect(acceptTracestate(value)).toBe(kept ? value : null);
  });
});
