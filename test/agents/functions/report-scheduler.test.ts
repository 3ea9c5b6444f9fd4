/**
 * ReportScheduler (agents/functions/report-scheduler.ts): bursts coalesce into one report, a
 * request during a report in flight gives exactly one more after it, the interval sends with no
 * request, and close() sends a last report and nothing after.
 */
import { afterEach, describe, expect, it } from "vitest";
import { ReportScheduler } from "../../../agents/functions/report-scheduler.ts";
import { waitFor } from "./fake-control.ts";

const turn = () => new Promise((resolve) => setImmediate(resolve));
let scheduler: ReportScheduler | null = null;

afterEach(async () => {
  await scheduler?.close();
  scheduler = null;
});

function make(intervalMs: number) {
  const state = { sent: 0, ticks: 0, release: null as (() => void) | null, hold: false };
  scheduler = new ReportScheduler({
    send: async () => {
      state.sent++;
      if (state.hold) await new Promise<void>((resolve) => (state.release = resolve));
    },
    intervalMs: () => intervalMs,
    onTick: () => state.ticks++,
  });
  return state;
}

describe("ReportScheduler", () => {
  it("coalesces a burst of requests in one event-loop turn into one report", async () => {
    const state = make(60_000);
    for (let i = 0; i < 5; i++) scheduler?.request();
    await turn();
    await turn();
    expect(state.sent).toBe(1);
  });

  it("sends exactly one more report for any number of requests made while one is in flight", async () => {
    const state = make(60_000);
    state.hold = true;
    scheduler?.request();
    await waitFor("the first report in flight", () => state.release);
    for (let i = 0; i < 3; i++) scheduler?.request();
    state.hold = false;
    state.release?.();
    await waitFor("the second report", () => state.sent === 2);
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(state.sent).toBe(2);
  });

  it("reports every interval with no request, calling onTick first", async () => {
    const state = make(40);
    scheduler?.request();
    // 1 at once + ticks at ~40, ~80, ~120 ms
    await waitFor("three ticks", () => state.ticks >= 3 && state.sent >= 4, 2000);
  });

  it("close() sends a last report and then nothing more", async () => {
    const state = make(20);
    scheduler?.request();
    await waitFor("first report", () => state.sent === 1);
    await scheduler?.close();
    const after = state.sent;
    scheduler?.request();
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(state.sent).toBe(after);
  });
});
