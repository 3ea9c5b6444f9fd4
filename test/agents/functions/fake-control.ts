/**
 * A fake control for the agent's function runtime tests: a node:http server on 127.0.0.1 that
 * serves the four endpoints of docs/functions-runtime.md "Agent ↔ control" the agent uses —
 * assignments (Consul-style long poll on `index`), bundles, the node report (keeps every report;
 * answers a new revision whenever an instance is reported `draining` for the first time) and
 * propagation (acknowledged once the test calls `acknowledge(revision)`).
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { type BundleModule, bundleSha256 } from "../../../agents/functions/bundle.ts";
import type { NodeReport } from "../../../agents/functions/client.ts";

export const TOKEN = "sluice_agent_test_token";

export class FakeControl {
  url = "";
  readonly reports: NodeReport[] = [];
  readonly bundles = new Map<string, unknown>();
  /** Every request's path, for asserting what the agent asked. */
  readonly requests: string[] = [];
  reportIntervalMs = 200;
  /** While true every endpoint answers 503, as a control that is down behind its load balancer. */
  down = false;
  private index = 1;
  // biome-ignore lint/suspicious/noExplicitAny: assignments are whatever a test wants to send.
  private assignments: any[] = [];
  private revision = 100;
  private acked = 0;
  private readonly drainingSeen = new Set<string>();
  private waiters: (() => void)[] = [];
  private readonly server = http.createServer((req, res) => void this.handle(req, res));

  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    for (const w of this.waiters) w();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Stores a bundle; @returns its sha256. */
  addBundle(modules: { name: string; type: "esm" | "wasm"; content: string | Uint8Array }[]): string {
    const decoded: BundleModule[] = modules.map((m) => ({
      ...m,
      content: typeof m.content === "string" ? new TextEncoder().encode(m.content) : m.content,
    }));
    const sha256 = bundleSha256(decoded);
    this.bundles.set(sha256, {
      sha256,
      modules: decoded.map((m) => ({ name: m.name, type: m.type, content: Buffer.from(m.content).toString("base64") })),
    });
    return sha256;
  }

  // biome-ignore lint/suspicious/noExplicitAny: see above.
  setAssignments(assignments: any[]): void {
    this.assignments = assignments;
    this.index++;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** Every gateway is now past `revision`. */
  acknowledge(revision: number): void {
    this.acked = Math.max(this.acked, revision);
  }

  /** No gateway has acknowledged anything (between tests). */
  resetAcknowledgements(): void {
    this.acked = 0;
  }

  /** The latest report. */
  get last(): NodeReport | undefined {
    return this.reports.at(-1);
  }

  /** The highest revision handed out so far. */
  get latestRevision(): number {
    return this.revision;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://x");
    this.requests.push(url.pathname);
    if (this.down) return json(res, 503, { error: "unavailable" });
    if (req.headers.authorization !== `Bearer ${TOKEN}`) return json(res, 401, { error: "unauthorized" });
    if (req.method === "GET" && url.pathname === "/v1/agents/functions/assignments") {
      if (url.searchParams.get("index") === String(this.index)) {
        const waitMs = Number.parseInt(url.searchParams.get("wait") ?? "25", 10) * 1000;
        const changed = await new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => resolve(false), waitMs);
          this.waiters.push(() => {
            clearTimeout(timer);
            resolve(true);
          });
        });
        if (!changed) {
          res.writeHead(304).end();
          return;
        }
      }
      return json(res, 200, { index: String(this.index), reportIntervalMs: this.reportIntervalMs, assignments: this.assignments });
    }
    const bundle = /^\/v1\/agents\/functions\/bundles\/([0-9a-f]{64})$/.exec(url.pathname);
    if (req.method === "GET" && bundle) {
      const body = this.bundles.get(bundle[1]);
      return body ? json(res, 200, body) : json(res, 404, { error: "not_found" });
    }
    if (req.method === "POST" && url.pathname === "/v1/agents/functions/report") {
      let text = "";
      for await (const chunk of req) text += chunk;
      const report = JSON.parse(text) as NodeReport;
      this.reports.push(report);
      const fresh = report.instances.filter((i) => i.state === "draining" && !this.drainingSeen.has(i.key));
      for (const i of fresh) this.drainingSeen.add(i.key);
      return json(res, 200, { revision: fresh.length > 0 ? ++this.revision : null });
    }
    if (req.method === "GET" && url.pathname === "/v1/propagation") {
      const revision = Number(url.searchParams.get("revision"));
      return json(res, 200, { version: null, acknowledged: revision <= this.acked, gateways: [] });
    }
    json(res, 404, { error: "not_found" });
  }
}

function json(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
}

/** Polls `check` every 10 ms until it returns a truthy value. @throws after `timeoutMs`, naming `what`. */
export async function waitFor<T>(what: string, check: () => T | undefined | null | false, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
