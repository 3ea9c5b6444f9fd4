/**
 * The demo configuration, created through the REST API exactly as a user would: service `demo`,
 * groups `stable` (two instances) and `canary` (one), a policy sending 10 % of users — by
 * `uid % 100 < 10` on the query parameter `uid` — to `canary`, and a route for `/` on any host.
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
}

/** API list responses are `{items: [...]}`. */
function listOf(json: unknown): Record<string, unknown>[] {
  const items = (json as { items?: Record<string, unknown>[] } | null)?.items;
  return Array.isArray(items) ? items : [];
}
