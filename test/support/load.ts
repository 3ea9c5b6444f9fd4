/**
 * Closed-loop client load for end-to-end tests: `concurrency` workers send GET `url` one after
 * another until stopped, counting answers by the `upstream` named in the JSON body and recording
 * every failure (a non-200 answer or a network error) with its time. With `record`, every answer
 * is also kept with its send and receive times (fault and propagation tests need the first or last
 * answer from an instance around an event).
 */

/** One answer, kept when the load was started with `record`. */
export interface LoadAnswer {
  /** When the request was sent and when its answer was read, ms since epoch. */
  sentMs: number;
  atMs: number;
  status: number;
  /** The `upstream` the JSON body names (also on an upstream's own error answer), or null. */
  upstream: string | null;
}

/** Options of startLoad. */
export interface LoadOptions {
  /** Keep every answer in `answers` (default false). */
  record?: boolean;
}

/** Requests sent and what answered them, from a loop of `concurrency` workers. */
export interface Load {
  stop(): Promise<void>;
  /** Answers by upstream name, and failures (non-200 or network errors) with their time. */
  byUpstream: Map<string, number>;
  failures: { atMs: number; what: string; sentMs: number }[];
  /** Every answer, in the order read (only with `record`; empty otherwise). */
  answers: LoadAnswer[];
  /** Time of the last answer from each upstream, ms since epoch. */
  lastSeen: Map<string, number>;
  sent: number;
}

/**
 * Starts `concurrency` workers sending GET `url` in a closed loop until `stop()`.
 * @example const load = startLoad(`${gateway}/shop`, 4, { record: true }); … await load.stop();
 */
export function startLoad(url: string, concurrency: number, options: LoadOptions = {}): Load {
  let running = true;
  const load: Load = { byUpstream: new Map(), failures: [], answers: [], lastSeen: new Map(), sent: 0, stop: async () => {} };
  const worker = async () => {
    while (running) {
      load.sent += 1;
      const sentMs = Date.now();
      try {
        const res = await fetch(url);
        const text = await res.text();
        if (options.record) load.answers.push({ sentMs, atMs: Date.now(), status: res.status, upstream: upstreamOf(text) });
        if (res.status !== 200) {
          load.failures.push({ atMs: Date.now(), what: `${res.status} ${text.slice(0, 120)}`, sentMs });
          continue;
        }
        const name = JSON.parse(text).upstream as string;
        load.byUpstream.set(name, (load.byUpstream.get(name) ?? 0) + 1);
        load.lastSeen.set(name, Date.now());
      } catch (err) {
        load.failures.push({ atMs: Date.now(), what: (err as Error).message, sentMs });
      }
    }
  };
  const workers = Array.from({ length: concurrency }, worker);
  load.stop = async () => {
    running = false;
    await Promise.all(workers);
  };
  return load;
}

/** The `upstream` a JSON answer names, or null (a gateway error or a non-JSON body). */
function upstreamOf(text: string): string | null {
  try {
    const name = (JSON.parse(text) as { upstream?: unknown }).upstream;
    return typeof name === "string" ? name : null;
  } catch {
    return null;
  }
}
