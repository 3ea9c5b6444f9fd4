/**
 * The demo configuration, created through the REST API exactly as a user would: service `demo`,
 * groups `stable` (two instances) and `canary` (one), a policy sending 10 % of users — by
 * `uid % 100 < 10` on the query parameter `uid` — to `canary`, and a route for `/` on any host;
 * a route `/limited` with a limit-count of 5 requests per 10 s per client; plus a function `greet` (one version, at zero instances until called) routed at `/fn`.
 * Re-running it on an existing data directory updates the instances' ports.
 */

export interface DemoTopology {
  stable: number[];
  canary: number[];
}

/** Sends one admin API call. @throws with the API's JSON error unless the status is ok or allowed. */
async function call(controlUrl: string, token: string, method: string, path: string, body?: unknown, allow: number[] = []) {
  const res = await fetch(`${controlUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok && !allow.includes(res.status)) throw new Error(`${method} ${path} → ${res.status}: ${text}`);
  return { status: res.status, json: text ? JSON.parse(text) : null };
}

/** Creates (or refreshes) the demo configuration. */
export async function seedDemo(controlUrl: string, adminToken: string, topology: DemoTopology): Promise<void> {
  const api = (method: string, path: string, body?: unknown, allow: number[] = []) =>
    call(controlUrl, adminToken, method, path, body, allow);
  await api("POST", "/v1/services", { appkey: "demo", description: "Sluice demo service" }, [409]);
  for (const [group, ports] of Object.entries(topology)) {
    await api("POST", "/v1/services/demo/groups", { name: group }, [409]);
    const existing = await api("GET", `/v1/services/demo/groups/${group}/instances`);
    for (const inst of listOf(existing.json)) {
      await api("DELETE", `/v1/services/demo/groups/${group}/instances/${String(inst.id)}`);
    }
    for (const port of ports) {
      await api("POST", `/v1/services/demo/groups/${group}/instances`, { host: "127.0.0.1", port, weight: 10 });
    }
  }
  await api(
    "POST",
    "/v1/policies",
    {
      name: "demo-canary-uid",
      category: "private",
      appkey: "demo",
      key: "uid",
      passway: "query",
      condition: "int(key) % 100 < 10",
      group: "canary",
      enabled: true,
      graylist: [],
    },
    [409],
  );
  const routes = listOf((await api("GET", "/v1/routes")).json);
  if (!routes.some((r) => r.host === "*" && r.path === "/")) {
    await api("POST", "/v1/routes", {
      appkey: "demo",
      host: "*",
      path: "/",
      match: "prefix",
      defaultGroup: "stable",
      policies: ["demo-canary-uid"],
    });
  }
  // Edge protection (docs/edge-protection.md): 5 requests per 10 s per client, then 429.
  if (!routes.some((r) => r.host === "*" && r.path === "/limited")) {
    await api("POST", "/v1/routes", {
      appkey: "demo",
      host: "*",
      path: "/limited",
      match: "prefix",
      defaultGroup: "stable",
      plugins: { "limit-count": { count: 5, windowSeconds: 10 }, "response-rewrite": { headers: { set: { "x-served-by": "sluice" } } } },
    });
  }
}

/** The demo function's code: an ES module Worker (docs/functions.md). */
const GREET = `export default {
  fetch(request, env) {
    return Response.json({ hello: "from a Sluice function", version: env.VERSION, path: new URL(request.url).pathname });
  },
};
`;

/**
 * Creates the demo function `greet` with version 1 (once) and its route `/fn`. It starts at zero
 * instances: the first request is a cold start (docs/functions-runtime.md).
 */
export async function seedDemoFunction(controlUrl: string, adminToken: string): Promise<void> {
  const api = (method: string, path: string, body?: unknown, allow: number[] = []) =>
    call(controlUrl, adminToken, method, path, body, allow);
  const created = await api("POST", "/v1/services/demo/functions", { name: "greet", scaling: { initialScale: 0 } }, [409]);
  if (created.status === 201) {
    await api("POST", "/v1/services/demo/functions/greet/versions", {
      modules: [{ name: "greet.js", type: "esm", content: Buffer.from(GREET).toString("base64") }],
      main: "greet.js",
      env: { VERSION: "1" },
      compatibilityDate: "2025-01-01",
    });
  }
  const routes = listOf((await api("GET", "/v1/routes")).json);
  if (!routes.some((r) => r.host === "*" && r.path === "/fn")) {
    await api("POST", "/v1/routes", { appkey: "demo", host: "*", path: "/fn", match: "prefix", function: "greet" });
  }
}

/**
 * A fresh agent token for the demo's function node (`demo-node`, appkey demo); an older one of
 * that name is revoked first, since a token is shown only when minted.
 */
export async function demoAgentToken(controlUrl: string, adminToken: string): Promise<string> {
  const api = (method: string, path: string, body?: unknown) => call(controlUrl, adminToken, method, path, body);
  for (const token of listOf((await api("GET", "/v1/agent-tokens")).json)) {
    if (token.name === "demo-node") await api("DELETE", `/v1/agent-tokens/${String(token.id)}`);
  }
  return (await api("POST", "/v1/agent-tokens", { name: "demo-node", appkeys: ["demo"] })).json.token as string;
}

/** API list responses are `{items: [...]}`. */
function listOf(json: unknown): Record<string, unknown>[] {
  const items = (json as { items?: Record<string, unknown>[] } | null)?.items;
  return Array.isArray(items) ? items : [];
}
