/**
 * Happy paths of every resource: create, read, list, replace/patch, delete — each write leaves
 * one revision and one onChange call.
 */
import { describe, expect, it } from "vitest";
import { backends } from "../../support/backends.ts";
import { unique, useApi } from "../../support/fixture.ts";

describe.each(backends())("API CRUD on $name", (backend) => {
  const api = useApi(backend);

  it("creates, reads, lists, replaces and deletes a service", async () => {
    const appkey = unique("svc");
    const created = await api.client.post("/v1/services", { appkey, description: "orders" });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ appkey, description: "orders" });
    expect(Date.parse(created.body.createdAt)).not.toBeNaN();

    expect((await api.client.get(`/v1/services/${appkey}`)).body.description).toBe("orders");
    const list = await api.client.get("/v1/services");
    expect(list.status).toBe(200);
    expect(list.body.items.map((s: { appkey: string }) => s.appkey)).toContain(appkey);

    const replaced = await api.client.put(`/v1/services/${appkey}`, { description: "orders v2" });
    expect(replaced.status).toBe(200);
    expect(replaced.body.description).toBe("orders v2");

    expect((await api.client.del(`/v1/services/${appkey}`)).status).toBe(204);
    expect((await api.client.get(`/v1/services/${appkey}`)).status).toBe(404);
  });

  it("manages groups and their instances", async () => {
    const appkey = unique("svc");
    await api.client.post("/v1/services", { appkey });
    const group = await api.client.post(`/v1/services/${appkey}/groups`, { name: "blue" });
    expect(group.status).toBe(201);
    expect(group.body).toMatchObject({ appkey, name: "blue", balancer: "swrr" });
    expect((await api.client.get(`/v1/services/${appkey}/groups/blue`)).body.name).toBe("blue");
    expect((await api.client.put(`/v1/services/${appkey}/groups/blue`, { balancer: "swrr" })).status).toBe(200);

    const base = `/v1/services/${appkey}/groups/blue/instances`;
    const inst = await api.client.post(base, { host: "10.0.0.1", port: 8080 });
    expect(inst.status).toBe(201);
    // Defaults: OCTO's usual weight 10, status alive.
    expect(inst.body).toMatchObject({
      appkey,
      group: "blue",
      host: "10.0.0.1",
      port: 8080,
      weight: 10,
      status: "alive",
      zone: "",
    });
    const id = inst.body.id;
    await api.client.post(base, {
      host: "backend.internal",
      port: 9090,
      weight: 0,
      status: "starting",
      zone: "z1",
      lane: "gray",
      version: "1.2.3",
    });
    expect((await api.client.get(base)).body.items).toHaveLength(2);

    const replaced = await api.client.put(`${base}/${id}`, {
      host: "10.0.0.2",
      port: 8081,
      weight: 30,
      status: "warning",
    });
    expect(replaced.status).toBe(200);
    expect(replaced.body).toMatchObject({
      id,
      host: "10.0.0.2",
      port: 8081,
      weight: 30,
      status: "warning",
      lane: "",
    });
    expect((await api.client.get(`${base}/${id}`)).body.port).toBe(8081);

    expect((await api.client.del(`${base}/${id}`)).status).toBe(204);
    expect((await api.client.get(`${base}/${id}`)).status).toBe(404);
    expect((await api.client.get(base)).body.items).toHaveLength(1);

    // Deleting the group takes its remaining instance with it; the revision keeps it.
    expect((await api.client.del(`/v1/services/${appkey}/groups/blue`)).status).toBe(204);
    const revision = (await api.client.get("/v1/revisions?limit=1")).body.items[0];
    expect(revision).toMatchObject({ action: "delete", resource: "group", resourceId: `${appkey}/blue` });
    expect(revision.body.before.instances).toHaveLength(1);
    expect(revision.body.after).toBeNull();
  });

  it("deletes a service with its groups and instances, keeping them in the revision", async () => {
    const appkey = unique("svc");
    await api.client.post("/v1/services", { appkey });
    await api.client.post(`/v1/services/${appkey}/groups`, { name: "blue" });
    await api.client.post(`/v1/services/${appkey}/groups/blue/instances`, { host: "10.9.9.9", port: 80 });
    expect((await api.client.del(`/v1/services/${appkey}`)).status).toBe(204);
    expect((await api.client.get(`/v1/services/${appkey}/groups/blue`)).status).toBe(404);
    const revision = (await api.client.get("/v1/revisions?limit=1")).body.items[0];
    expect(revision).toMatchObject({ action: "delete", resource: "service", resourceId: appkey });
    expect(revision.body.before.groups[0]).toMatchObject({
      name: "blue",
      instances: [{ host: "10.9.9.9", port: 80 }],
    });
  });

  it("manages policies with PUT and PATCH", async () => {
    const appkey = unique("svc");
    const name = unique("pol");
    await api.client.post("/v1/services", { appkey });
    await api.client.post(`/v1/services/${appkey}/groups`, { name: "green" });
    const policy = {
      name,
      category: "private",
      appkey,
      key: "uid",
      passway: "query",
      condition: "key == 'vip'",
      group: "green",
    };
    const created = await api.client.post("/v1/policies", policy);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ ...policy, enabled: true, graylist: [] });

    const replaced = await api.client.put(`/v1/policies/${name}`, {
      category: "public",
      key: "X-User",
      passway: "header",
      condition: "key != ''",
      group: "green",
      enabled: false,
      graylist: ["u1", "u2"],
    });
    expect(replaced.status).toBe(200);
    expect(replaced.body).toMatchObject({
      category: "public",
      appkey: null,
      key: "X-User",
      enabled: false,
      graylist: ["u1", "u2"],
    });

    const patched = await api.client.patch(`/v1/policies/${name}`, { enabled: true });
    expect(patched.status).toBe(200);
    // Only `enabled` changed.
    expect(patched.body).toMatchObject({
      enabled: true,
      graylist: ["u1", "u2"],
      key: "X-User",
      category: "public",
    });
    const graylisted = await api.client.patch(`/v1/policies/${name}`, { graylist: [] });
    expect(graylisted.body.graylist).toEqual([]);

    expect((await api.client.get(`/v1/policies/${name}`)).body.enabled).toBe(true);
    const names = (await api.client.get("/v1/policies")).body.items.map((p: { name: string }) => p.name);
    expect(names).toContain(name);
    expect((await api.client.del(`/v1/policies/${name}`)).status).toBe(204);
    expect((await api.client.get(`/v1/policies/${name}`)).status).toBe(404);
  });

  it("manages routes", async () => {
    const appkey = unique("svc");
    const pol = unique("pol");
    await api.client.post("/v1/services", { appkey });
    await api.client.post(`/v1/services/${appkey}/groups`, { name: "blue" });
    await api.client.post(`/v1/services/${appkey}/groups`, { name: "green" });
    await api.client.post("/v1/policies", {
      name: pol,
      category: "public",
      key: "uid",
      passway: "cookie",
      condition: "key == 'a'",
      group: "green",
    });

    const path = `/${appkey}`;
    const created = await api.client.post("/v1/routes", {
      appkey,
      path,
      match: "prefix",
      defaultGroup: "blue",
      policies: [pol],
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      appkey,
      host: "*",
      path,
      match: "prefix",
      defaultGroup: "blue",
      policies: [pol],
      timeoutMs: 15000,
      bodyCapBytes: 65536,
    });
    const id = created.body.id;

    const replaced = await api.client.put(`/v1/routes/${id}`, {
      appkey,
      host: "*.example.com",
      path,
      match: "exact",
      defaultGroup: "green",
      timeoutMs: 2500,
      bodyCapBytes: 1024,
    });
    expect(replaced.status).toBe(200);
    expect(replaced.body).toMatchObject({
      id,
      host: "*.example.com",
      match: "exact",
      defaultGroup: "green",
      policies: [],
      timeoutMs: 2500,
      bodyCapBytes: 1024,
    });
    expect((await api.client.get(`/v1/routes/${id}`)).body.host).toBe("*.example.com");
    expect((await api.client.get("/v1/routes")).body.items.some((r: { id: number }) => r.id === id)).toBe(true);

    expect((await api.client.del(`/v1/routes/${id}`)).status).toBe(204);
    expect((await api.client.get(`/v1/routes/${id}`)).status).toBe(404);
  });

  it("records one revision and one onChange call per write, newest first and paged", async () => {
    const appkey = unique("svc");
    const changesBefore = api.changes.length;
    await api.client.post("/v1/services", { appkey });
    await api.client.put(`/v1/services/${appkey}`, { description: "d" });
    await api.client.del(`/v1/services/${appkey}`);
    expect(api.changes.length).toBe(changesBefore + 3);

    const page = await api.client.get("/v1/revisions?limit=2");
    expect(page.status).toBe(200);
    expect(page.body.items.map((r: { action: string }) => r.action)).toEqual(["delete", "update"]);
    expect(page.body.items[0]).toMatchObject({ actor: "admin", resource: "service", resourceId: appkey });
    expect(page.body.items[1].body.before.description).toBe("");
    expect(page.body.items[1].body.after.description).toBe("d");
    // The ids onChange received are the revisions just listed.
    expect(api.changes.slice(-2).reverse()).toEqual(page.body.items.map((r: { id: number }) => r.id));

    const older = await api.client.get(`/v1/revisions?limit=2&before=${page.body.next}`);
    expect(older.body.items[0]).toMatchObject({ action: "create", resourceId: appkey });
    expect(older.body.items[0].id).toBeLessThan(page.body.items[1].id);
  });
});
