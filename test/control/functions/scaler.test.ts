/**
 * The scaler's pure parts on tables of cases: spreading desired counts over nodes
 * (distribute.ts), the per-second window value (gateways vs nodes), and the assignment board's
 * index and wake-ups.
 */
import { describe, expect, it } from "vitest";
import { type Assignment, AssignmentBoard } from "../../../control/functions/scaler/board.ts";
import { distributeInstances, type EligibleNode, type VersionDemand } from "../../../control/functions/scaler/distribute.ts";
import { loadValue } from "../../../control/functions/scaler/scaler.ts";

const node = (name: string, appkeys: string[] | null): EligibleNode => ({ name, appkeys: appkeys && new Set(appkeys) });
const toObject = (m: Map<string, Map<number, number>>) => Object.fromEntries([...m].map(([n, v]) => [n, Object.fromEntries(v)]));

describe("distributeInstances", () => {
  const cases: { name: string; demands: VersionDemand[]; nodes: EligibleNode[]; want: Record<string, Record<number, number>> }[] = [
    {
      name: "5 over two nodes: the first in name order takes the odd one (3 + 2)",
      demands: [{ key: 1, appkey: "a", desired: 5 }],
      nodes: [node("n-b", ["a"]), node("n-a", ["a"])],
      want: { "n-a": { 1: 3 }, "n-b": { 1: 2 } },
    },
    {
      name: "1 over three nodes: only the first",
      demands: [{ key: 1, appkey: "a", desired: 1 }],
      nodes: [node("c", ["a"]), node("a", ["a"]), node("b", ["a"])],
      want: { a: { 1: 1 }, b: {}, c: {} },
    },
    {
      name: "only nodes whose token covers the appkey (null: the admin token covers all)",
      demands: [
        { key: 1, appkey: "a", desired: 4 },
        { key: 2, appkey: "b", desired: 2 },
      ],
      nodes: [node("x", ["a"]), node("y", ["b"]), node("z", null)],
      // a: x, z → 2 + 2; b: y, z → 1 + 1
      want: { x: { 1: 2 }, y: { 2: 1 }, z: { 1: 2, 2: 1 } },
    },
    {
      name: "no eligible node: assigned nowhere",
      demands: [{ key: 1, appkey: "a", desired: 3 }],
      nodes: [node("x", ["b"])],
      want: { x: {} },
    },
    { name: "desired 0: nothing", demands: [{ key: 1, appkey: "a", desired: 0 }], nodes: [node("x", ["a"])], want: { x: {} } },
    { name: "no nodes", demands: [{ key: 1, appkey: "a", desired: 2 }], nodes: [], want: {} },
  ];
  it.each(cases)("$name", ({ demands, nodes, want }) => {
    expect(toObject(distributeInstances(demands, nodes))).toEqual(want);
  });

  it("places every desired instance on some eligible node, none twice (property over a small grid)", () => {
    for (let desired = 0; desired <= 12; desired++) {
      for (let count = 1; count <= 5; count++) {
        const nodes = Array.from({ length: count }, (_, i) => node(`n${i}`, ["a"]));
        const spread = distributeInstances([{ key: 7, appkey: "a", desired }], nodes);
        const counts = [...spread.values()].map((v) => v.get(7) ?? 0);
        expect(counts.reduce((a, b) => a + b, 0)).toBe(desired);
        expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
      }
    }
  });
});

describe("loadValue", () => {
  const row = (source: string, concurrency: number, requests = 0, intervalMs = 1000) => ({ source, concurrency, requests, intervalMs });
  const cases: { name: string; rows: ReturnType<typeof row>[]; metric: "concurrency" | "rps"; want: number }[] = [
    {
      name: "gateways summed vs nodes summed: the larger (3 + 4 > 6)",
      rows: [row("gateway:a", 3), row("gateway:b", 4), row("node:n", 6)],
      metric: "concurrency",
      want: 7,
    },
    {
      name: "nodes larger (a request that bypassed the gateways)",
      rows: [row("gateway:a", 1), row("node:n", 2), row("node:m", 2)],
      metric: "concurrency",
      want: 4,
    },
    { name: "rps: requests per interval → per second (30 in 2 s = 15)", rows: [row("gateway:a", 0, 30, 2000)], metric: "rps", want: 15 },
    { name: "no rows: zero", rows: [], metric: "concurrency", want: 0 },
  ];
  it.each(cases)("$name", ({ rows, metric, want }) => {
    expect(loadValue(rows, metric)).toBe(want);
  });
});

describe("AssignmentBoard", () => {
  const a = (desired: number): Assignment => ({
    appkey: "a",
    function: "f",
    version: 1,
    desired,
    sha256: "0".repeat(64),
    main: "worker.js",
    compatibilityDate: "2026-07-01",
    env: {},
    allowOutbound: false,
    containerConcurrency: 0,
  });

  it("moves a node's index only when its list changes, and wakes only its poll", async () => {
    const board = new AssignmentBoard(100);
    const first = board.get("n1");
    const other = board.get("n2");
    expect(first).toEqual({ index: 101, assignments: [] });
    expect(board.publish(new Map([["n1", []]]))).toEqual([]);
    const held = board.wait("n1", first.index, 5000);
    const heldOther = board.wait("n2", other.index, 50);
    expect(board.publish(new Map([["n1", [a(2)]]]))).toEqual(["n1"]);
    expect(await held).toMatchObject({ assignments: [a(2)] });
    expect(await heldOther).toBeNull();
    const now = board.get("n1");
    expect(now.index).toBeGreaterThan(first.index);
    expect(board.publish(new Map([["n1", [a(2)]]]))).toEqual([]);
    // A node left out of the placement runs nothing.
    expect(board.publish(new Map())).toEqual(["n1"]);
    expect(board.get("n1").assignments).toEqual([]);
    board.close();
  });

  it("answers at once when the agent's index differs (a control restart), and null on close", async () => {
    const board = new AssignmentBoard(500);
    expect(await board.wait("n1", 18, 5000)).toMatchObject({ index: 501 });
    const held = board.wait("n1", 501, 60_000);
    board.close();
    expect(await held).toBeNull();
  });
});
