/**
 * `npx node bench/auth-plugins.ts`: CPU µs per request of the gateway's access-control plugins in
 * their steady state (worker/plugins/auth/, ip-restriction, anti-scraping): access() on a
 * context the pipeline would build, plus applying the plugin's upstream edits (X-Consumer-Username,
 * hide_credentials) to the attempt's header copy. Contexts and header copies are built outside
 * the timed loop (the gateway builds them for every route, plugins or not), so the figure is what
 * a plugin adds. key-auth is measured after its key was hashed once (the per-isolate cache),
 * i.e. synchronously. CPU time (process.cpuUsage): the machine is shared; median of ROUNDS.
 */
import { createHash } from "node:crypto";
import { SignJWT } from "jose";
import { accessContext } from "../test/worker/plugins/access-context.ts";
import type { ConsumerEntry } from "../wasm/plugins-section.ts";
import { createAntiScraping } from "../worker/plugins/anti-scraping.ts";
import { createAntiScrapingState } from "../worker/plugins/anti-scraping-state.ts";
import { ConsumerDirectory } from "../worker/plugins/auth/consumer-directory.ts";
import { createJwtAuth } from "../worker/plugins/auth/jwt-auth.ts";
import { createKeyAuth } from "../worker/plugins/auth/key-auth.ts";
import type { AccessPlugin, PluginContext } from "../worker/plugins/context.ts";
import { createIpRestriction } from "../worker/plugins/ip-restriction.ts";
import { median } from "./stats.ts";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const BATCH = Number(process.env.BENCH_BATCH ?? 5000);

const consumers: ConsumerEntry[] = Array.from({ length: 1000 }, (_, i) => ({
  name: `user_${i}`,
  labels: {},
  keyHash: createHash("sha256").update(`key-${i}`).digest("hex"),
  jwt: { key: `jwt-${i}`, algorithm: "HS256", secret: `secret-${i}`, jwks: [], issuer: null, audience: null },
}));
const directory = new ConsumerDirectory(consumers);
const HEADERS = { apikey: "key-500", "user-agent": "Mozilla/5.0", accept: "*/*", "accept-language": "en" };

/** CPU µs per request of `plugin` over fresh contexts (median of ROUNDS batches). */
async function measure(
  plugin: AccessPlugin | null,
  headersOf: Record<string, string> | ((i: number) => Record<string, string>),
): Promise<number> {
  const samples: number[] = [];
  for (let round = 0; round < ROUNDS + 1; round++) {
    const contexts: PluginContext[] = [];
    const copies: Headers[] = [];
    for (let i = 0; i < BATCH; i++) {
      const headers = typeof headersOf === "function" ? headersOf(round * BATCH + i) : headersOf;
      contexts.push(accessContext({ headers, peer: "203.0.113.7:1" }));
      copies.push(new Headers(headers));
    }
    const start = process.cpuUsage();
    for (let i = 0; i < BATCH; i++) {
      const c = contexts[i] as PluginContext;
      if (plugin) {
        const answer = plugin.access(c);
        if (answer instanceof Promise) await answer;
      }
      for (const edit of c.upstream?.headers ?? []) edit(copies[i] as Headers, { host: "127.0.0.1", port: 80 });
    }
    const used = process.cpuUsage(start);
    if (round > 0) samples.push((used.user + used.system) / BATCH);
  }
  return median(samples);
}

const hsToken = await new SignJWT({ key: "jwt-500" }).setProtectedHeader({ alg: "HS256" }).sign(new TextEncoder().encode("secret-500"));
const keyAuth = createKeyAuth({ header: "apikey", query: "apikey", hideCredentials: true, anonymous: false }, directory);
await keyAuth.access(accessContext({ headers: HEADERS })); // hash the key once, as the first request does

const JWT_CONFIG = {
  header: "authorization",
  query: "jwt",
  cookie: "jwt",
  keyClaim: "key",
  hideCredentials: false,
  clockSkewSeconds: 0,
  anonymous: false,
};
// Distinct tokens (by jti) for the full verification, one per request of every round.
const secret = new TextEncoder().encode("secret-500");
const distinct = await Promise.all(
  Array.from({ length: (ROUNDS + 1) * BATCH }, (_, i) =>
    new SignJWT({ key: "jwt-500", jti: String(i) }).setProtectedHeader({ alg: "HS256" }).sign(secret),
  ),
);

const rows: [string, AccessPlugin | null, Record<string, string> | ((i: number) => Record<string, string>)][] = [
  ["none (baseline)", null, HEADERS],
  ["key-auth (cached key, hide_credentials)", keyAuth, HEADERS],
  [
    "ip-restriction (3 allow CIDRs)",
    createIpRestriction({ allow: ["10.0.0.0/8", "192.168.0.0/16", "203.0.113.0/24"], deny: [], message: "no" }),
    HEADERS,
  ],
  [
    "anti-scraping (missing headers + rate)",
    createAntiScraping(
      {
        rules: [
          { name: "r", userAgent: null, missingHeaders: ["accept-language"], rate: { count: 1e9, windowSeconds: 60 }, action: "block" },
        ],
        suspectGroup: -1,
        exemptConsumers: false,
      },
      createAntiScrapingState(),
    ),
    HEADERS,
  ],
  [
    "jwt-auth HS256, token verified before (cached)",
    createJwtAuth(JWT_CONFIG, directory),
    { ...HEADERS, authorization: `Bearer ${hsToken}` },
  ],
  [
    "jwt-auth HS256, full verification (new token)",
    createJwtAuth(JWT_CONFIG, new ConsumerDirectory(consumers)),
    (i) => ({ ...HEADERS, authorization: `Bearer ${distinct[i]}` }),
  ],
];

const baseline = await measure(null, HEADERS);
console.log(`CPU µs per request (median of ${ROUNDS} batches of ${BATCH}), minus the baseline loop (${baseline.toFixed(3)} µs):`);
for (const [name, plugin, headers] of rows.slice(1)) {
  console.log(`  ${name.padEnd(50)} ${((await measure(plugin, headers)) - baseline).toFixed(3)} µs`);
}
