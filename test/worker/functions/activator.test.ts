/**
 * worker/functions/activator.ts on a manual clock: the buffer's cap (overflow at once), the wait
 * limit (timeout), the poke at the first waiter of a version and every second while any waits,
 * FIFO release on a recheck that finds the version available, release to instances control named
 * (direct: round-robin, standing for new waits until a snapshot load or DIRECT_TTL_MS), and
 * nothing left scheduled after.
 */
import { describe, expect, it } from "vitest";
import { Activator, DIRECT_TTL_MS, type VersionRef, type WaitOutcome } from "../../../worker/functions/activator.ts";
import { FakeTimers, settle } from "./fake-timers.ts";

const HELLO_2: VersionRef = { groupId: 0x60000002, appkey: "com.example.shop", function: "hello", version: 2 };
const HELLO_3: VersionRef = { groupId: 0x60000003, appkey: "com.example.shop", function: "hello", version: 3 };

function setup(maxBuffered = 1000) {
  const timers = new FakeTimers();
  const pokes: string[] = [];
  const activator = new Activator({
    maxBuffered,
    pokeIntervalMs: 1000,
    poke: (v) => pokes.push(`${v.function}@${v.version}`),
    timers,
  });
  const outcomes: string[] = [];
  /** Starts a wait of `name` on `version` for `ms`; its outcome is appended to `outcomes` when it ends. */
  const wait = (name: string, version: VersionRef, ms: number, keepAlive = () => {}) =>
    activator.wait(version, timers.now() + ms, keepAlive).then((o: WaitOutcome) => {
      outcomes.push(`${name}:${typeof o === "object" ? `direct ${o.direct.host}:${o.direct.port}` : o}`);
      return o;
    });
  return { timers, pokes, activator, outcomes, wait };
}

describe("Activator", () => {
  it("refuses at once with overflow when the isolate's buffer is full, across versions", async () => {
    const { activator, outcomes, wait } = setup(2);
    void wait("a", HELLO_2, 10_000);
    void wait("b", HELLO_3, 10_000);
    expect(await wait("c", HELLO_2, 10_000)).toBe("overflow");
    expect(outcomes).toEqual(["c:overflow"]);
    expect(activator.buffered).toBe(2);
    expect(activator.overflows).toBe(1);
    // A slot frees when a wait ends: the next request is buffered again.
    activator.recheck((id) => id === HELLO_3.groupId);
    await settle();
    void wait("d", HELLO_2, 10_000);
    await settle();
    expect(outcomes).toEqual(["c:overflow", "b:released"]);
    expect(activator.bufferedOf(HELLO_2.groupId)).toBe(2);
  });

  it("FUNCTION_BUFFER_MAX=0 buffers nothing", async () => {
    const { pokes, wait } = setup(0);
    expect(await wait("a", HELLO_2, 10_000)).toBe("overflow");
    expect(pokes).toEqual([]);
  });

  it("times a wait out at its deadline, not before, and forgets the version", async () => {
    const { timers, activator, outcomes, wait } = setup();
    void wait("a", HELLO_2, 500);
    await timers.advance(499);
    expect(outcomes).toEqual([]);
    await timers.advance(1);
    expect(outcomes).toEqual(["a:timeout"]);
    expect(activator.buffered).toBe(0);
    expect(activator.versions()).toEqual([]);
    expect(activator.timeouts).toBe(1);
    expect(timers.size).toBe(0); // no poke ticker left behind
  });

  it("times out at once when the deadline has already passed (nothing buffered, no poke)", async () => {
    const { pokes, activator, wait } = setup();
    expect(await wait("a", HELLO_2, 0)).toBe("timeout");
    expect(activator.buffered).toBe(0);
    expect(pokes).toEqual([]);
  });

  it("pokes at the first waiter of a version, then every second while any waits, and keeps the oldest waiter's loops alive", async () => {
    const { timers, pokes, activator, wait } = setup();
    const kept: string[] = [];
    void wait("a", HELLO_2, 10_000, () => kept.push("a"));
    void wait("b", HELLO_2, 10_000, () => kept.push("b"));
    expect(pokes).toEqual(["hello@2"]); // the second waiter of the same version does not poke
    await timers.advance(999);
    expect(pokes).toEqual(["hello@2"]);
    await timers.advance(1);
    expect(pokes).toEqual(["hello@2", "hello@2"]);
    void wait("c", HELLO_3, 10_000);
    expect(pokes).toEqual(["hello@2", "hello@2", "hello@3"]); // another version pokes at once
    await timers.advance(1000);
    // t=2000: hello@2's second tick; hello@3's first comes at 2000 too (it began at 1000).
    expect(pokes).toEqual(["hello@2", "hello@2", "hello@3", "hello@2", "hello@3"]);
    expect(kept).toEqual(["a", "a"]);
    activator.recheck(() => true);
    await timers.advance(5000);
    expect(pokes).toHaveLength(5); // none after the release
    expect(timers.size).toBe(0);
  });

  it("releases FIFO only the versions that became available, and clears their timeouts", async () => {
    const { timers, activator, outcomes, wait } = setup();
    void wait("a1", HELLO_2, 10_000);
    void wait("b1", HELLO_3, 10_000);
    void wait("a2", HELLO_2, 10_000);
    void wait("a3", HELLO_2, 10_000);
    activator.recheck((id) => id === HELLO_2.groupId);
    await settle();
    expect(outcomes).toEqual(["a1:released", "a2:released", "a3:released"]);
    expect(activator.buffered).toBe(1);
    expect(activator.versions()).toEqual([{ version: HELLO_3, buffered: 1 }]);
    await timers.advance(10_000);
    expect(outcomes).toEqual(["a1:released", "a2:released", "a3:released", "b1:timeout"]);
    expect(activator.activations).toBe(4);
    expect(timers.size).toBe(0);
  });

  it("a recheck that finds nothing available releases nothing", async () => {
    const { activator, outcomes, wait } = setup();
    void wait("a", HELLO_2, 10_000);
    activator.recheck(() => false);
    await settle();
    expect(outcomes).toEqual([]);
    expect(activator.buffered).toBe(1);
  });

  it("releases a version's waiters FIFO to the instances control named, round-robin, and only that version", async () => {
    const { timers, activator, outcomes, wait } = setup();
    void wait("a", HELLO_2, 10_000);
    void wait("b", HELLO_2, 10_000);
    void wait("c", HELLO_3, 10_000);
    void wait("d", HELLO_2, 10_000);
    activator.direct(HELLO_2.groupId, [
      { host: "10.0.0.1", port: 8001 },
      { host: "10.0.0.2", port: 8002 },
    ]);
    await settle();
    expect(outcomes).toEqual(["a:direct 10.0.0.1:8001", "b:direct 10.0.0.2:8002", "d:direct 10.0.0.1:8001"]);
    expect(activator.buffered).toBe(1);
    expect(activator.bufferedOf(HELLO_2.groupId)).toBe(0);
    activator.direct(HELLO_3.groupId, []); // nothing named: nothing happens
    await settle();
    expect(activator.bufferedOf(HELLO_3.groupId)).toBe(1);
    activator.recheck(() => true);
    await settle();
    expect(timers.size).toBe(0);
  });

  it("hands named instances to the version's next requests at once, until a snapshot load or DIRECT_TTL_MS", async () => {
    const { timers, activator, pokes, outcomes, wait } = setup();
    activator.direct(HELLO_2.groupId, [{ host: "10.0.0.1", port: 8001 }]);
    await wait("a", HELLO_2, 10_000);
    expect(outcomes).toEqual(["a:direct 10.0.0.1:8001"]);
    expect(pokes).toEqual([]);
    // A snapshot load makes the snapshot the truth again: the next request buffers (and pokes).
    activator.snapshotLoaded();
    void wait("b", HELLO_2, 10_000);
    await settle();
    expect(activator.bufferedOf(HELLO_2.groupId)).toBe(1);
    expect(pokes).toEqual(["hello@2"]);
    activator.recheck(() => true);
    await settle();
    // Without a snapshot, named instances lapse after DIRECT_TTL_MS.
    activator.direct(HELLO_3.groupId, [{ host: "10.0.0.3", port: 8003 }]);
    await timers.advance(DIRECT_TTL_MS - 1);
    await wait("c", HELLO_3, 10_000);
    await timers.advance(1);
    void wait("d", HELLO_3, 10_000);
    await settle();
    expect(outcomes.slice(-2)).toEqual(["b:released", "c:direct 10.0.0.3:8003"]);
    expect(activator.bufferedOf(HELLO_3.groupId)).toBe(1);
    activator.recheck(() => true);
    await settle();
    expect(timers.size).toBe(0);
  });
});
