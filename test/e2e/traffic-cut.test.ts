/**
 * Issue 4: a traffic cut "reaches every gateway within 1 s and is undone by one call", measured
 * with real parts on 127.0.0.1: control (PGlite), two gateways of one process each on the default
 * runtime (DEFAULT_RUNTIME; each on its own port, so each process's answers are told apart; both
 * long-poll the same control), three upstream processes, and a closed-loop load on each gateway.
 *
 * Cut: from the moment POST /v1/traffic-cuts has answered until no gateway sends to the cut
 * instance — per gateway, the last answer from it (the gateway had stopped choosing it by then);
 * across gateways, the last request arriving at the upstream itself. Undo: from the moment
 * DELETE has answered until each gateway sends to it again (its first answer from it). Both < 1 s;
 * the measured ms are printed.
 *
 * This passes on today's gateway: a cut is snapshot data (drained flag, weight 0) and smooth WRR
 * skips weight 0.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_RUNTIME, startGateway } from "../../worker/launcher/gateway.ts";
import type { ProcessCluster } from "../../worker/launcher/supervisor.ts";
import { backends } from "../support/backends.ts";
import { type Load, type LoadAnswer, startLoad } from "../support/load.ts";
import { type Child, spawnUpstream, stopAll, upstreamStats } from "../support/processes.ts";
import { eventually, type Stack, startStack, upstreamsSeen } from "../support/stack.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const LIMIT_MS = 1000;

// PGlite only: propagation is control → gateway; the database only has to commit (the API
// suites cover PostgreSQL). On the default runtime (the routing and fault tests cover the others).
describe.each(backends().filter((b) => b.name === "pglite"))(`traffic cut propagation on $name, ${DEFAULT_RUNTIME}`, (backend) => {
  let stack: Stack;
  let second: ProcessCluster;
  const upstreams = new Map<string, Child & { port: number }>();
  const ids = new Map<string, number>();
  const gateways = () => [stack.gateway.url, second.url];

  beforeAll(async () => {
    for (const name of ["t1", "t2", "t3"]) upstreams.set(name, await spawnUpstream(name));
    stack = await startStack(backend, 1, { gateway: { runtime: DEFAULT_RUNTIME } });
    second = await startGateway({
      runtime: DEFAULT_RUNTIME,
      controlUrl: stack.control.url,
      gatewayToken: stack.control.tokens.gatewayToken,
      snapshotPublicKey: stack.control.signingKey.publicKeyBase64,
      port: 0,
      processes: 1,
      snapshotPollMs: 100,
      stdio: "ignore",
    });
    const { admin } = stack;
    expect((await admin.post("/v1/services", { appkey: "cuts" })).status).toBe(201);
    expect((await admin.post("/v1/services/cuts/groups", { name: "main" })).status).toBe(201);
    for (const [name, u] of upstreams) {
      const res = await admin.post("/v1/services/cuts/groups/main/instances", { host: "127.0.0.1", port: u.port });
      expect(res.status).toBe(201);
      ids.set(name, res.body.id);
    }
    expect((await admin.post("/v1/routes", { appkey: "cuts", path: "/cut", defaultGroup: "main" })).status).toBe(201);
    for (const url of gateways()) {
      await eventually(async () => (await upstreamsSeen(`${url}/cut`, 9)).size === 3, 10_000);
    }
  }, 60_000);

  afterAll(async () => {
    await second?.close();
    await stack?.close();
    await stopAll();
  });

  it(`an instance cut reaches both gateway processes within ${LIMIT_MS} ms, and one DELETE undoes it as fast`, async () => {
    const cutName = "t2";
    const cutPort = upstreams.get(cutName)?.port as number;
    const loads: Load[] = gateways().map((url) => startLoad(`${url}/cut`, 3, { record: true }));
    try {
      await sleep(500);
      const created = await stack.admin.post("/v1/traffic-cuts", { kind: "instance", instanceId: ids.get(cutName) });
      expect(created.status).toBe(201);
      const cutAt = Date.now();
      // Watch for at least 1.5 s, and until each gateway has answered 50 requests sent after the
      // 1 s limit (counted, not timed: a slow machine sends fewer): none may reach the instance.
      await sleep(LIMIT_MS + 500);
      const sentAfterLimit = (load: Load) => load.answers.filter((a) => a.sentMs > cutAt + LIMIT_MS && a.status === 200).length;
      await eventually(async () => loads.every((load) => sentAfterLimit(load) >= 50), 10_000);
      const arrivals = (await upstreamStats(cutPort, cutAt)).arrivals;
      const cutMs = loads.map((load) => {
        const last = lastFrom(load.answers, cutName);
        return last === null ? 0 : Math.max(0, last.atMs - cutAt);
      });
      const upstreamCutMs = Math.max(0, (arrivals.at(-1) ?? cutAt) - cutAt);
      const servedWhileCut = loads.map(sentAfterLimit);

      const deleted = await stack.admin.del(`/v1/traffic-cuts/${created.body.id}`);
      expect(deleted.status).toBe(204);
      const undoneAt = Date.now();
      const undoMs = await Promise.all(
        loads.map(async (load) => {
          await eventually(async () => load.answers.some((a) => a.upstream === cutName && a.sentMs >= undoneAt), 5000);
          const first = load.answers.find((a) => a.upstream === cutName && a.sentMs >= undoneAt) as LoadAnswer;
          return first.atMs - undoneAt;
        }),
      );
      await Promise.all(loads.map((l) => l.stop()));

      console.log(
        `traffic cut: no gateway sent to the cut instance after ${cutMs.map((ms) => `${ms} ms`).join(" / ")} ` +
          `(per gateway process; at the upstream: last arrival ${upstreamCutMs} ms after the POST answered); ` +
          `undone: each sent to it again after ${undoMs.map((ms) => `${ms} ms`).join(" / ")} ` +
          `(${servedWhileCut.join(" / ")} answers from the others while cut; ` +
          `${loads.map((l) => l.answers.length).join(" / ")} requests, ${loads.map((l) => l.failures.length).join(" / ")} failed)`,
      );
      for (const load of loads) expect(load.failures).toEqual([]);
      for (const ms of [...cutMs, upstreamCutMs, ...undoMs]) expect(ms).toBeLessThan(LIMIT_MS);
    } finally {
      await Promise.all(loads.map((l) => l.stop()));
    }
  });
});

/** The last answer from `upstream`, or null. */
function lastFrom(answers: LoadAnswer[], upstream: string): LoadAnswer | null {
  for (let i = answers.length - 1; i >= 0; i--) if (answers[i]?.upstream === upstream) return answers[i] as LoadAnswer;
  return null;
}
