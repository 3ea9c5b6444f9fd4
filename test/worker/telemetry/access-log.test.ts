/** worker/telemetry/access-log.ts and request-id.ts: sampling, batching, and which request ids are kept. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { AccessLog, type AccessLogEntry, FLUSH_LINES, formatEntry, isoTime } from "../../../worker/telemetry/access-log.ts";
import { requestId } from "../../../worker/telemetry/request-id.ts";

const entry = (n: number): AccessLogEntry => ({
  log: "access",
  time: "2026-12-07T00:00:00.000Z",
  requestId: `r${n}`,
  method: "GET",
  host: "shop.test",
  path: "/cart",
  client: "203.0.113.9",
  route: 7,
  group: "main",
  instance: "127.0.0.1:9000",
  status: 200,
  attempts: 1,
  upstreamMs: 1.5,
  totalMs: 2.25,
  bytesIn: null,
  bytesOut: 12,
  snapshotVersion: "3",
  traceId: null,
});

describe("AccessLog", () => {
  it("writes one JSON line per request, batched: when the buffer is full and when flushed", () => {
    const writes: string[] = [];
    const log = new AccessLog({ enabled: true, sampleRatio: 1 }, (text) => writes.push(text));
    for (let n = 0; n < FLUSH_LINES + 3; n++) log.record(entry(n));
    expect(writes).toHaveLength(1);
    log.flush();
    log.flush(); // nothing left: no empty write
    expect(writes).toHaveLength(2);
    const lines = writes.flatMap((w) => w.split("\n")).map((line) => JSON.parse(line) as AccessLogEntry);
    expect(lines.map((l) => l.requestId)).toEqual(Array.from({ length: FLUSH_LINES + 3 }, (_, n) => `r${n}`));
    expect(lines[0]).toEqual(entry(0));
  });

  it.each([
    [{ enabled: false, sampleRatio: 1 }, 0, 0],
    [{ enabled: true, sampleRatio: 1 }, 10_000, 10_000],
    [{ enabled: true, sampleRatio: 0.1 }, 800, 1200],
  ])("%o samples between %i and %i of 10 000 requests", (config, low, high) => {
    const log = new AccessLog(config, () => {});
    let sampled = 0;
    for (let n = 0; n < 10_000; n++) if (log.sampled()) sampled += 1;
    expect(sampled).toBeGreaterThanOrEqual(low);
    expect(sampled).toBeLessThanOrEqual(high);
  });
});

describe("formatEntry", () => {
  const anyText = fc.oneof(fc.string({ unit: "binary" }), fc.string(), fc.constantFrom('"', "\\", "\u2028", "\ud800", "/a b?c", ""));
  const orNull = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: null });
  const anyNumber = fc.oneof(fc.double(), fc.integer(), fc.constantFrom(0, -0, 1e21, 1e-7, Number.NaN, Number.POSITIVE_INFINITY));
  // Keys in the order formatEntry writes them, so the two texts must be equal byte for byte.
  const entries = fc.record({
    log: fc.constant("access" as const),
    time: anyText,
    requestId: anyText,
    method: anyText,
    host: orNull(anyText),
    path: orNull(anyText),
    client: orNull(anyText),
    route: orNull(anyNumber),
    group: orNull(anyText),
    instance: orNull(anyText),
    status: anyNumber,
    attempts: anyNumber,
    upstreamMs: orNull(anyNumber),
    totalMs: anyNumber,
    bytesIn: orNull(anyNumber),
    bytesOut: orNull(anyNumber),
    snapshotVersion: orNull(anyText),
    traceId: orNull(anyText),
  });

  it("writes exactly what JSON.stringify writes, on 5 000 generated entries (escapes, lone surrogates, NaN)", () => {
    fc.assert(
      fc.property(entries, (e) => {
        expect(formatEntry(e)).toBe(JSON.stringify(e));
      }),
      { numRuns: 5000 },
    );
  });

  it("isoTime is toISOString, also when asked for the same ms again and for an earlier one", () => {
    for (const ms of [0, 1_796_623_126_617, 1_796_623_126_617, 1_796_623_126_618, 5]) expect(isoTime(ms)).toBe(new Date(ms).toISOString());
  });
});

describe("requestId", () => {
  const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
  it.each([
    ["f47ac10b-58cc-4372-a567-0e02b2c3d479", true],
    ["01HZX3J7K9QW", true],
    ["a/b+c=:d@e_f.g-h", true],
    ["x".repeat(128), true],
    ["x".repeat(129), false],
    ["", false],
    ["has space", false],
    ['quote"d', false],
    ["new\nline", false],
    ["ünïcode", false],
  ])("keeps %j: %s", (incoming, kept) => {
    const id = requestId(incoming);
    if (kept) expect(id).toBe(incoming);
    else expect(id).toMatch(uuid);
  });

  it("generates a fresh id when none came", () => {
    expect(requestId(null)).toMatch(uuid);
    expect(requestId(null)).not.toBe(requestId(null));
  });
});
