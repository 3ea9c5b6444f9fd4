/**
 * The registry's pure decisions, as tables of cases: the health verdict (Nacos timings), the
 * protect threshold, a whole sweep plan, the routing view of an instance (health and OCTO roles
 * folded into status and weight), gateway acknowledgement of a change, and wait durations.
 */
import { describe, expect, it } from "vitest";
import { parseDurationMs } from "../../../control/api/fields.ts";
import { ackStates, type GatewayReport } from "../../../control/propagation/acks.ts";
import { routingStatus } from "../../../control/registry/effective.ts";
import { decideHealth, type HealthInput, type HealthVerdict } from "../../../control/registry/health.ts";
import { applyProtectThreshold, type ProtectCandidate } from "../../../control/registry/protect.ts";
import { planSweep, type ServicePolicy, type SweepInstance } from "../../../control/registry/sweep-plan.ts";

const NACOS = { unhealthyAfterMs: 15_000, removeAfterMs: 30_000 };

describe("decideHealth (Nacos: unhealthy after 15 s of silence, removed after 30 s)", () => {
  const cases: { name: string; input: HealthInput; nowMs: number; want: HealthVerdict }[] = [
    { name: "fresh beat", input: { registration: "ephemeral", lastSeenMs: 0, reportedHealthy: true }, nowMs: 4_000, want: "healthy" },
    {
      name: "no check result counts as healthy",
      input: { registration: "ephemeral", lastSeenMs: 0, reportedHealthy: undefined },
      nowMs: 1,
      want: "healthy",
    },
    // 15 000 ms exactly is not yet "after 15 s"
    {
      name: "15 s of silence: still healthy",
      input: { registration: "ephemeral", lastSeenMs: 0, reportedHealthy: true },
      nowMs: 15_000,
      want: "healthy",
    },
    {
      name: "15.001 s: unhealthy",
      input: { registration: "ephemeral", lastSeenMs: 0, reportedHealthy: true },
      nowMs: 15_001,
      want: "unhealthy",
    },
    {
      name: "30 s: unhealthy, not yet removed",
      input: { registration: "ephemeral", lastSeenMs: 0, reportedHealthy: true },
      nowMs: 30_000,
      want: "unhealthy",
    },
    {
      name: "30.001 s: removed",
      input: { registration: "ephemeral", lastSeenMs: 0, reportedHealthy: true },
      nowMs: 30_001,
      want: "remove",
    },
    {
      name: "persistent is never removed",
      input: { registration: "persistent", lastSeenMs: 0, reportedHealthy: true },
      nowMs: 3_600_000,
      want: "unhealthy",
    },
    {
      name: "failing check: unhealthy at once",
      input: { registration: "ephemeral", lastSeenMs: 1_000, reportedHealthy: false },
      nowMs: 1_000,
      want: "unhealthy",
    },
    {
      name: "persistent failing check",
      input: { registration: "persistent", lastSeenMs: 1_000, reportedHealthy: false },
      nowMs: 2_000,
      want: "unhealthy",
    },
    {
      name: "persistent passing check",
      input: { registration: "persistent", lastSeenMs: 1_000, reportedHealthy: true },
      nowMs: 2_000,
      want: "healthy",
    },
  ];
  it.each(cases)("$name → $want", ({ input, nowMs, want }) => {
    expect(decideHealth(input, NACOS, nowMs)).toBe(want);
  });
});

describe("applyProtectThreshold", () => {
  const c = (id: number, healthyNow: boolean, verdict: HealthVerdict, recentlyTurned = false): ProtectCandidate => ({
    id,
    healthyNow,
    verdict,
    recentlyTurned,
  });
  const cases: {
    name: string;
    candidates: ProtectCandidate[];
    total: number;
    pct: number;
    want: { engaged: boolean; markUnhealthy: number[]; markHealthy: number[]; remove: number[] };
  }[] = [
    {
      // 3 / 5 = 60 % > 50 %
      name: "60 % turning unhealthy at once: held back",
      candidates: [c(1, true, "unhealthy"), c(2, true, "unhealthy"), c(3, true, "remove"), c(4, true, "healthy"), c(5, true, "healthy")],
      total: 5,
      pct: 50,
      want: { engaged: true, markUnhealthy: [], markHealthy: [], remove: [] },
    },
    {
      // 2 / 5 = 40 % ≤ 50 %
      name: "40 %: applied",
      candidates: [c(1, true, "unhealthy"), c(2, true, "remove"), c(3, true, "healthy"), c(4, true, "healthy"), c(5, true, "healthy")],
      total: 5,
      pct: 50,
      want: { engaged: false, markUnhealthy: [1], markHealthy: [], remove: [2] },
    },
    {
      // 1 / 2 = 50 % is not more than 50 %
      name: "exactly the threshold: applied",
      candidates: [c(1, true, "unhealthy"), c(2, true, "healthy")],
      total: 2,
      pct: 50,
      want: { engaged: false, markUnhealthy: [1], markHealthy: [], remove: [] },
    },
    {
      // (1 already + 2 turning) / 4 = 75 % > 50 %: the 2 keep routing, the old one is removed on time
      name: "already-unhealthy ones count and still proceed",
      candidates: [c(1, false, "remove"), c(2, true, "unhealthy"), c(3, true, "unhealthy"), c(4, true, "healthy")],
      total: 4,
      pct: 50,
      want: { engaged: true, markUnhealthy: [], markHealthy: [], remove: [1] },
    },
    {
      // 3 / 5 unhealthy but nothing is turning now: nothing to protect
      name: "no instance turning: not engaged",
      candidates: [
        c(1, false, "unhealthy"),
        c(2, false, "unhealthy"),
        c(3, false, "unhealthy"),
        c(4, true, "healthy"),
        c(5, true, "healthy"),
      ],
      total: 5,
      pct: 50,
      want: { engaged: false, markUnhealthy: [], markHealthy: [], remove: [] },
    },
    {
      // A partition cut 3 of 5, whose beats were out of phase: 1 and 2 crossed the timeout one
      // sweep earlier (40 %, applied); now 3 crosses: (2 recent + 1) / 5 = 60 % → all three back.
      name: "a wave spread over several sweeps is held back as one",
      candidates: [
        c(1, false, "unhealthy", true),
        c(2, false, "unhealthy", true),
        c(3, true, "unhealthy"),
        c(4, true, "healthy"),
        c(5, true, "healthy"),
      ],
      total: 5,
      pct: 50,
      want: { engaged: true, markUnhealthy: [], markHealthy: [1, 2], remove: [] },
    },
    {
      name: "recoveries apply while engaged",
      candidates: [c(1, false, "healthy"), c(2, true, "unhealthy"), c(3, true, "unhealthy")],
      total: 3,
      pct: 50,
      want: { engaged: true, markUnhealthy: [], markHealthy: [1], remove: [] },
    },
    {
      // static instances count as healthy: 1 failing of 4 = 25 %
      name: "static instances dilute the share",
      candidates: [c(1, true, "unhealthy")],
      total: 4,
      pct: 20,
      want: { engaged: true, markUnhealthy: [], markHealthy: [], remove: [] },
    },
    {
      name: "threshold 100 never protects",
      candidates: [c(1, true, "unhealthy"), c(2, true, "unhealthy")],
      total: 2,
      pct: 100,
      want: { engaged: false, markUnhealthy: [1, 2], markHealthy: [], remove: [] },
    },
    {
      name: "threshold 0 protects the first failure",
      candidates: [c(1, true, "unhealthy"), c(2, true, "healthy"), c(3, true, "healthy")],
      total: 3,
      pct: 0,
      want: { engaged: true, markUnhealthy: [], markHealthy: [], remove: [] },
    },
  ];
  it.each(cases)("$name", ({ candidates, total, pct, want }) => {
    const got = applyProtectThreshold(candidates, total, pct);
    expect({ engaged: got.engaged, markUnhealthy: got.markUnhealthy, markHealthy: got.markHealthy, remove: got.remove }).toEqual(want);
  });
});

describe("planSweep", () => {
  const policy: ServicePolicy = { ...NACOS, protectThresholdPct: 50 };
  const i = (id: number, appkey: string, lastSeenMs: number, extra: Partial<SweepInstance> = {}): SweepInstance => ({
    id,
    appkey,
    registration: "ephemeral",
    healthy: true,
    lastSeenMs,
    reportedHealthy: true,
    ...extra,
  });
  it("counts instances marked unhealthy within the last timeout as the same wave", () => {
    const now = 100_000;
    const plan = planSweep(
      [
        i(1, "a", now - 16_000, { healthy: false, turnedUnhealthyAtMs: now - 500 }),
        i(2, "a", now - 15_500, { healthy: false, turnedUnhealthyAtMs: now - 15_001 }), // before the wave
        i(3, "a", now - 15_200),
        i(4, "a", now - 1_000),
        i(5, "a", now - 1_000),
      ],
      new Map([["a", policy]]),
      now,
    );
    // failing 3 / 5 = 60 %: 1 (recent) and 3 (turning) held back; 2 stays unhealthy.
    expect(plan).toEqual({
      markUnhealthy: [],
      markHealthy: [1],
      remove: [],
      protectedServices: [{ appkey: "a", failingPct: 60, heldBack: [1, 3] }],
    });
  });

  it("decides per service: one protected, one applied, static ones untouched", () => {
    const now = 100_000;
    const plan = planSweep(
      [
        // svc a: 3 of 5 silent for 20 s → 60 % → protected
        i(1, "a", now - 20_000),
        i(2, "a", now - 20_000),
        i(3, "a", now - 20_000),
        i(4, "a", now - 1_000),
        i(5, "a", now - 1_000),
        // svc b: 1 of 3 silent for 40 s → removed; one recovering; one static never swept
        i(6, "b", now - 40_000),
        i(7, "b", now - 1_000, { healthy: false }),
        i(8, "b", 0, { registration: "static" }),
        // svc c has no policy: left alone
        i(9, "c", 0),
      ],
      new Map([
        ["a", policy],
        ["b", policy],
      ]),
      now,
    );
    expect(plan).toEqual({
      markUnhealthy: [],
      markHealthy: [7],
      remove: [6],
      protectedServices: [{ appkey: "a", failingPct: 60, heldBack: [1, 2, 3] }],
    });
  });
});

describe("routingStatus (registry health → the status gateways route on)", () => {
  it.each([
    ["alive", true, "alive"],
    ["alive", false, "dead"],
    ["stopping", true, "stopping"],
    ["starting", false, "starting"],
  ] as const)("%s, healthy %s → %s", (status, healthy, want) => {
    expect(routingStatus(status, healthy)).toBe(want);
  });
});

describe("ackStates (has a change reached every gateway?)", () => {
  const now = 1_000_000;
  const g = (id: string, version: number, pollOpen: boolean, lastSeenAgoMs: number, pollUntilMs = now + 20_000): GatewayReport => ({
    id,
    version,
    pollOpen,
    pollUntilMs,
    lastSeenMs: now - lastSeenAgoMs,
  });
  const cases: { name: string; reports: GatewayReport[]; covering: number | null; want: [boolean, string[]] }[] = [
    {
      name: "every gateway serves the covering version",
      reports: [g("a", 7, true, 10), g("b", 8, true, 10)],
      covering: 7,
      want: [true, ["acknowledged", "acknowledged"]],
    },
    {
      name: "one polls at an older version",
      reports: [g("a", 7, true, 10), g("b", 6, true, 10)],
      covering: 7,
      want: [false, ["acknowledged", "lagging"]],
    },
    { name: "not yet built", reports: [g("a", 7, true, 10)], covering: null, want: [false, ["lagging"]] },
    // idle: no poll open and quiet for ≥ 2 s → re-syncs before routing
    {
      name: "idle gateways do not block",
      reports: [g("a", 7, true, 10), g("b", 3, false, 2_000)],
      covering: 7,
      want: [true, ["acknowledged", "idle"]],
    },
    { name: "a gateway between two polls blocks", reports: [g("b", 6, false, 1_999)], covering: 7, want: [false, ["lagging"]] },
    // a poll whose replica died never closed: trusted only 5 s past its wait
    { name: "stale open poll counts as idle", reports: [g("b", 6, true, 60_000, now - 5_001)], covering: 7, want: [true, ["idle"]] },
    { name: "no gateways at all", reports: [], covering: 7, want: [true, []] },
  ];
  it.each(cases)("$name", ({ reports, covering, want }) => {
    const got = ackStates(reports, covering, now);
    expect([got.acknowledged, got.gateways.map((x) => x.state)]).toEqual(want);
  });
});

describe("parseDurationMs (Consul-style wait)", () => {
  const cases: [string, number | null][] = [
    ["30s", 30_000],
    ["500ms", 500],
    ["5m", 300_000],
    ["1.5m", 90_000],
    ["30", 30_000],
    ["0s", 0],
    ["", null],
    ["-1s", null],
    ["10h", null],
    ["1e3s", null],
    [" 5s", null],
  ];
  it.each(cases)("%j → %j", (text, want) => {
    expect(parseDurationMs(text)).toBe(want);
  });
});
