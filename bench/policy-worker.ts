/**
 * The Worker `npm run bench:policy` runs in workerd (the production runtime): it times nothing
 * itself — Workers' clocks do not advance while code runs — but runs `iters` routing decisions
 * of one approach per request, and the bench process times the request from outside.
 * GET /run?approach=a|full|b|c|d&n=1|10|50&iters=N → {"policy": index, "iters": N}. It writes
 * its own snapshots with control's pure writer, so the decisions are the ones Node measures.
 */
import hotpathModule from "../build/hotpath.wasm";
import { writeSnapshot } from "../control/snapshot/writer.ts";
import { HotPath } from "../wasm/host.ts";
import { benchCelEnv, celApproach, compilePerRequestApproach, type Decide, referenceApproach, wasmApproach } from "./policy-approaches.ts";
import { benchModel, benchPolicies, benchRequest } from "./policy-cases.ts";

const req = benchRequest();
const built = new Map<string, Decide>();
let env: ReturnType<typeof benchCelEnv> | undefined;

function approach(name: string, n: number): Decide {
  const id = `${name}:${n}`;
  let decide = built.get(id);
  if (decide) return decide;
  const policies = benchPolicies(n);
  if (name === "a" || name === "full") {
    const hot = new HotPath(new WebAssembly.Instance(hotpathModule, {}));
    const loaded = hot.load(writeSnapshot(benchModel(policies), { version: 1n, builtAtMs: 0 }));
    if (!loaded.ok) throw new Error(loaded.reason);
    decide = wasmApproach(hot, req, name === "full");
  } else if (name === "b") decide = referenceApproach(policies, req);
  else if (name === "c") {
    env ??= benchCelEnv();
    decide = celApproach(policies, req, env);
  } else decide = compilePerRequestApproach(policies, req);
  built.set(id, decide);
  return decide;
}

export default {
  fetch(request: Request): Response {
    const url = new URL(request.url);
    const name = url.searchParams.get("approach") ?? "a";
    const n = Number(url.searchParams.get("n") ?? 50);
    const iters = Number(url.searchParams.get("iters") ?? 0);
    try {
      const decide = approach(name, n);
      let policy = -2;
      for (let i = 0; i < iters; i++) policy = decide();
      return Response.json({ policy, iters });
    } catch (err) {
      return Response.json({ error: String(err) }, { status: 500 });
    }
  },
};
