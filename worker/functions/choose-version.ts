// PLACEHOLDER until issue15-snapshot merges: the real chooser (bucket() hash of the sticky key) replaces this.
/** Chooses a function's version per request (docs/functions-runtime.md, "Choosing the version"). */
import type { FunctionEntry, FunctionTarget } from "../../wasm/functions-section.ts";

/**
 * Tag, then lane, then the cumulative-percent split (a sticky key hashed to 0–99, else `random()`).
 * @param random uniform in [0, 1).
 */
export function chooseVersion(
  entry: FunctionEntry,
  request: { tag: string | null; lane: string; stickyKey: string | null },
  random: () => number,
): FunctionTarget {
  const targets = entry.targets;
  const tagged = request.tag === null ? undefined : targets.find((t) => t.tag === request.tag);
  if (tagged) return tagged;
  const laned = request.lane === "" ? undefined : targets.find((t) => t.lane === request.lane);
  if (laned) return laned;
  let bucket = Math.floor(random() * 100);
  if (request.stickyKey !== null) {
    let h = 0;
    for (let i = 0; i < request.stickyKey.length; i++) h = (h * 31 + request.stickyKey.charCodeAt(i)) >>> 0;
    bucket = h % 100;
  }
  let sum = 0;
  for (const t of targets) {
    sum += t.percent;
    if (bucket < sum) return t;
  }
  return targets[targets.length - 1] as FunctionTarget;
}
