/**
 * The gateway's bindings (worker/env.ts): a process's place in its launcher's cluster goes out as
 * PROCESS_BINDINGS (processBindings) and comes back the same through readConfig; absent, there is
 * none; malformed, the gateway refuses to start, naming the binding. The activator's settings
 * default and refuse malformed values the same way, as do the cluster limits' Redis settings.
 */
import { describe, expect, it } from "vitest";
import { type Env, PROCESS_BINDINGS, processBindings, readConfig } from "../../worker/env.ts";

const required: Env = { CONTROL_URL: "http://127.0.0.1:1", GATEWAY_TOKEN: "t", SNAPSHOT_PUBLIC_KEY: "k" };

describe("a process's place (PROCESS_* bindings)", () => {
  const place = { slot: 1, restarts: 3, clusterRestarts: 7, startedAtMs: 1_796_600_000_000 };

  it("goes out as the declared binding names and comes back the same", () => {
    const bindings = processBindings(place);
    expect(Object.keys(bindings).sort()).toEqual(Object.values(PROCESS_BINDINGS).sort());
    expect(bindings).toMatchObject({ PROCESS_SLOT: "1", PROCESS_RESTARTS: "3", CLUSTER_RESTARTS: "7" });
    expect(readConfig({ ...required, ...bindings }).process).toEqual(place);
  });

  it("is null when no launcher set it (Cloudflare, wrangler)", () => {
    expect(readConfig(required).process).toBeNull();
  });

  it.each([
    ["PROCESS_RESTARTS", "-1"],
    ["PROCESS_RESTARTS", "1.5"],
    ["CLUSTER_RESTARTS", ""],
    ["PROCESS_STARTED_AT_MS", "soon"],
  ])("refuses %s = %j at start", (name, value) => {
    const env = { ...required, ...processBindings(place), [name]: value };
    expect(() => readConfig(env)).toThrow(new RegExp(`binding ${name} is not a whole number`));
  });
});

describe("the activator's bindings (FUNCTION_BUFFER_MAX, FUNCTION_METRICS_PUSH_MS)", () => {
  it("default to 1000 requests and 1000 ms", () => {
    expect(readConfig(required)).toMatchObject({ functionBufferMax: 1000, functionMetricsPushMs: 1000 });
  });

  it("take whole numbers; a push interval of 0 is raised to 1 ms, a buffer of 0 buffers nothing", () => {
    expect(readConfig({ ...required, FUNCTION_BUFFER_MAX: "0", FUNCTION_METRICS_PUSH_MS: "0" })).toMatchObject({
      functionBufferMax: 0,
      functionMetricsPushMs: 1,
    });
  });

  it.each([
    ["FUNCTION_BUFFER_MAX", "-5"],
    ["FUNCTION_METRICS_PUSH_MS", "1s"],
  ])("refuses %s = %j at start", (name, value) => {
    expect(() => readConfig({ ...required, [name]: value })).toThrow(new RegExp(`binding ${name} is not a whole number`));
  });
});

describe("the cluster limits' bindings (REDIS_URL, REDIS_TIMEOUT_MS)", () => {
  it("default to no Redis and 50 ms", () => {
    expect(readConfig(required)).toMatchObject({ redis: null, redisTimeoutMs: 50 });
  });

  it("parse the URL and the timeout", () => {
    expect(readConfig({ ...required, REDIS_URL: "redis://:pw@127.0.0.1:6380/2", REDIS_TIMEOUT_MS: "20" })).toMatchObject({
      redis: { host: "127.0.0.1", port: 6380, password: "pw", db: 2 },
      redisTimeoutMs: 20,
    });
  });

  it.each([
    ["REDIS_URL", "127.0.0.1:6379", /binding REDIS_URL/],
    ["REDIS_URL", "redis://h/db", /binding REDIS_URL/],
    ["REDIS_TIMEOUT_MS", "50ms", /binding REDIS_TIMEOUT_MS is not a whole number/],
  ])("refuses %s = %j at start, naming it", (name, value, message) => {
    expect(() => readConfig({ ...required, [name]: value })).toThrow(message);
  });
});
