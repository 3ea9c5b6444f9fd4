/**
 * Closed-loop client load for end-to-end tests: `concurrency` workers send GET `url` one after
 * another until stopped, counting answers by the `upstream` named in the JSON body and recording
 * every failure (a non-200 answer or a network error) with its time.
 */

/** Requests sent and what answered them, from a loop of `concurrency` workers. */
export interface Load {
  stop(): Promise<void>;
  /** Answers by upstream name, and failures (non-200 or network errors) with their time. */
  byUpstream: Map<string, number>;
  failures: { atMs: number; what: string }[];
  /** Time of the last answer from each upstream, ms since epoch. */
  lastSeen: Map<string, number>;
  sent: number;
}

export function startLoad(url: string, concurrency: number): Load {
  let running = true;
  const load: Load = { byUpstream: new Map(), failures: [], lastSeen: new Map(), sent: 0, stop: async () => {} };
  const worker = async () => {
    while (running) {
      load.sent += 1;
      try {
        const res = await fetch(url);
        const text = await res.text();
        if (res.status !== 200) {
          load.failures.push({ atMs: Date.now(), what: `${res.status} ${text.slice(0, 120)}` });
          continue;
        }
        const name = JSON.parse(text).upstream as string;
        load.byUpstream.set(name, (load.byUpstream.get(name) ?? 0) + 1);
        load.lastSeen.set(name, Date.now());
      } catch (err) {
        load.failures.push({ atMs: Date.now(), what: (err as Error).message });
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
