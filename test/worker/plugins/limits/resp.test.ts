/**
 * worker/plugins/limits/resp.ts: RESP2 commands as bulk-string arrays, and replies parsed
 * incrementally — the same replies whatever the chunking, error replies as values, bad bytes refused.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { encodeCommand, RespError, RespParser, RespProtocolError, type RespReply } from "../../../../worker/plugins/limits/resp.ts";

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const bytes = (s: string) => new TextEncoder().encode(s);

function parseAll(chunks: Uint8Array[]): RespReply[] {
  const replies: RespReply[] = [];
  const parser = new RespParser((r) => replies.push(r));
  for (const chunk of chunks) parser.push(chunk);
  return replies;
}

describe("encodeCommand", () => {
  it.each([
    [["PING"], "*1\r\n$4\r\nPING\r\n"],
    [["EVALSHA", "ab", 1, "k", 60000], "*5\r\n$7\r\nEVALSHA\r\n$2\r\nab\r\n$1\r\n1\r\n$1\r\nk\r\n$5\r\n60000\r\n"],
    // Lengths are bytes, not characters.
    [["SET", "é", ""], "*3\r\n$3\r\nSET\r\n$2\r\né\r\n$0\r\n\r\n"],
  ])("%j", (args, wire) => {
    expect(text(encodeCommand(args))).toBe(wire);
  });
});

describe("RespParser", () => {
  const cases: [string, RespReply][] = [
    ["+OK\r\n", "OK"],
    ["-NOSCRIPT No matching script\r\n", new RespError("NOSCRIPT No matching script")],
    [":-42\r\n", -42],
    ["$4\r\nhé!\r\n", "hé!"],
    ["$0\r\n\r\n", ""],
    ["$-1\r\n", null],
    ["*-1\r\n", null],
    ["*0\r\n", []],
    ["*3\r\n:7\r\n:59000\r\n*2\r\n$1\r\na\r\n$3\r\nb\r\n\r\n", [7, 59000, ["a", "b\r\n"]]],
    ["*2\r\n$-1\r\n-ERR x\r\n", [null, new RespError("ERR x")]],
  ];

  it.each(cases)("%j", (wire, reply) => {
    expect(parseAll([bytes(wire)])).toEqual([reply]);
  });

  it("gives the same replies, in order, whatever the chunking", () => {
    const wire = bytes(cases.map(([w]) => w).join(""));
    const expected = cases.map(([, r]) => r);
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: wire.length - 1 }), { maxLength: 20 }), (cuts) => {
        const points = [0, ...cuts.sort((a, b) => a - b), wire.length];
        const chunks = points.slice(1).map((end, i) => wire.subarray(points[i], end));
        expect(parseAll(chunks)).toEqual(expected);
      }),
    );
  });

  it("holds an incomplete reply until the rest arrives", () => {
    const replies: RespReply[] = [];
    const parser = new RespParser((r) => replies.push(r));
    parser.push(bytes("*2\r\n:1\r"));
    expect(replies).toEqual([]);
    parser.push(bytes("\n$3\r\nab"));
    expect(replies).toEqual([]);
    parser.push(bytes("c\r\n+OK\r\n"));
    expect(replies).toEqual([[1, "abc"], "OK"]);
  });

  it.each(["!oops\r\n", ":12a\r\n", "$x\r\n"])("refuses %j", (wire) => {
    expect(() => parseAll([bytes(wire)])).toThrow(RespProtocolError);
  });
});
