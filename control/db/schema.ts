/**
 * The control service's PostgreSQL schema (drizzle pg-core): the routing configuration users edit
 * through the REST API (services, groups, instances, policies, routes), the append-only audit log
 * of every write (revisions) and the history of compiled snapshots (snapshots).
 *
 * Tables are plural snake_case; columns snake_case, mapped to camelCase properties. CHECK
 * constraints repeat the API's validation so that no writer (API, migration, psql) can store a row
 * the snapshot compiler cannot consume. Migrations: `npm run db:generate` → migrations/.
 * The SQL must run on PostgreSQL 15 and PGlite 0.5.16 (PostgreSQL 18): nothing newer than PG15.
 */
import { sql } from "drizzle-orm";
import {
  type AnyPgColumn,
  bigint,
  bigserial,
  boolean,
  check,
  customType,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  serial,
  text,
  timestamp,
  uniqueIndex,
} from "drizzle-orm/pg-core";
import { BALANCER_KINDS } from "../../wasm/reference/balancer-kinds.ts";

/** `timestamptz`, read as a JS Date. */
const createdAt = () => timestamp("created_at", { withTimezone: true }).notNull().defaultNow();
const updatedAt = () => timestamp("updated_at", { withTimezone: true }).notNull().defaultNow();

/**
 * `bytea` as a Uint8Array. node-postgres returns a Buffer (a Uint8Array subclass), PGlite a plain
 * Uint8Array; both are accepted on write.
 */
export const bytea = customType<{ data: Uint8Array; driverData: Uint8Array }>({
  dataType: () => "bytea",
  toDriver: (value) => value,
  fromDriver: (value) => value,
});

/**
 * A service, named by its OCTO appkey (e.g. `com.example.orders`), with its registry settings:
 * the heartbeat timings of its ephemeral instances (defaults as Nacos: beat every 5 s, unhealthy
 * after 15 s of silence, removed after 30 s) and its protect threshold (control/registry/protect.ts).
 */
export const services = pgTable(
  "services",
  {
    id: serial("id").primaryKey(),
    appkey: text("appkey").notNull().unique(),
    description: text("description").notNull().default(""),
    heartbeatIntervalMs: integer("heartbeat_interval_ms").notNull().default(5000),
    unhealthyAfterMs: integer("unhealthy_after_ms").notNull().default(15000),
    removeAfterMs: integer("remove_after_ms").notNull().default(30000),
    protectThresholdPct: integer("protect_threshold_pct").notNull().default(50),
    /**
     * Default edge-protection plugins of the service's routes (docs/edge-protection.md), keyed by
     * plugin name, as the admin gave them (control/api/plugin-fields.ts); defaults filled when read.
     */
    plugins: jsonb("plugins").$type<Record<string, unknown>>().notNull().default({}),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    check("services_heartbeat_interval_ms_check", sql`${t.heartbeatIntervalMs} between 100 and 600000`),
    check("services_unhealthy_after_ms_check", sql`${t.unhealthyAfterMs} > ${t.heartbeatIntervalMs}`),
    check("services_remove_after_ms_check", sql`${t.removeAfterMs} >= ${t.unhealthyAfterMs}`),
    check("services_protect_threshold_pct_check", sql`${t.protectThresholdPct} between 0 and 100`),
  ],
);

/** The balancer kinds as SQL string literals, `'swrr', 'random', …` (constants, never user input). */
const BALANCER_KINDS_SQL = sql.raw(BALANCER_KINDS.map((kind) => `'${kind}'`).join(", "));

/**
 * An upstream group of a service: the target of routes and policies, by name. Deleting a service
 * deletes its groups (the API refuses while routes or private policies still use the service).
 * `balancer` is one of BALANCER_KINDS (wasm/reference/balancer-kinds.ts; its index is the snapshot code).
 * `balancing` holds the balancing and fault-tolerance options as the admin gave them (a partial
 * object, control/api/balancing-fields.ts); defaults are filled in when read, so a default that
 * changes reaches every group that did not pin it.
 */
export const groups = pgTable(
  "groups",
  {
    id: serial("id").primaryKey(),
    serviceId: integer("service_id")
      .notNull()
      .references(() => services.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    balancer: text("balancer").notNull().default("swrr"),
    balancing: jsonb("balancing").$type<Record<string, unknown>>().notNull().default({}),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex("groups_service_id_name_key").on(t.serviceId, t.name),
    check("groups_balancer_check", sql`${t.balancer} in (${BALANCER_KINDS_SQL})`),
  ],
);

/** OCTO instance statuses (SGService.status), lowercase. Only `alive` receives traffic. */
export const INSTANCE_STATUSES = ["dead", "starting", "alive", "stopping", "stopped", "warning"] as const;

/** OCTO environments (SGService.env). */
export const ENVIRONMENTS = ["prod", "staging", "test"] as const;

/** OCTO roles: a `backup` instance receives traffic only while no `primary` of its group can. */
export const INSTANCE_ROLES = ["primary", "backup"] as const;

/**
 * How an instance is kept in the registry: `static` (the admin API; never swept), `ephemeral`
 * (heartbeats; unhealthy after silence, then removed, as Nacos' ephemeral instances) or
 * `persistent` (the agent health-checks it and reports; unhealthy after silence, never removed).
 */
export const REGISTRATIONS = ["static", "ephemeral", "persistent"] as const;

/**
 * A backend instance (host:port) of a group, with OCTO's node fields; removed with its group.
 * `status` is the declared lifecycle status (admin or agent); `healthy` is the registry's verdict
 * (heartbeats and health checks, control/registry/). The snapshot routes to an instance only when
 * both say so (control/registry/effective.ts).
 */
export const instances = pgTable(
  "instances",
  {
    id: serial("id").primaryKey(),
    groupId: integer("group_id")
      .notNull()
      .references(() => groups.id, { onDelete: "cascade" }),
    host: text("host").notNull(),
    port: integer("port").notNull(),
    weight: integer("weight").notNull().default(10),
    status: text("status").notNull().default("alive"),
    zone: text("zone").notNull().default(""),
    lane: text("lane").notNull().default(""),
    version: text("version").notNull().default(""),
    env: text("env").notNull().default("prod"),
    region: text("region").notNull().default(""),
    idc: text("idc").notNull().default(""),
    cell: text("cell").notNull().default(""),
    role: text("role").notNull().default("primary"),
    protocol: text("protocol").notNull().default("http"),
    metadata: jsonb("metadata").$type<Record<string, string>>().notNull().default({}),
    /** OCTO warmup: seconds over which a new instance's weight should ramp up (stored; see README). */
    warmupSeconds: integer("warmup_seconds").notNull().default(0),
    registration: text("registration").notNull().default("static"),
    healthy: boolean("healthy").notNull().default(true),
    /**
     * When the instance last became routable (status `alive` and healthy): set on create and on
     * every flip back to routable (control/registry/alive-since.ts). Gateways ramp its weight
     * from here over `warmupSeconds`, so every gateway ramps alike (docs/balancing.md, slow start).
     */
    aliveSince: timestamp("alive_since", { withTimezone: true }).notNull().defaultNow(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex("instances_group_id_host_port_key").on(t.groupId, t.host, t.port),
    check("instances_port_check", sql`${t.port} between 1 and 65535`),
    check("instances_weight_check", sql`${t.weight} between 0 and 10000`),
    check("instances_status_check", sql`${t.status} in ('dead', 'starting', 'alive', 'stopping', 'stopped', 'warning')`),
    check("instances_env_check", sql`${t.env} in ('prod', 'staging', 'test')`),
    check("instances_role_check", sql`${t.role} in ('primary', 'backup')`),
    check("instances_registration_check", sql`${t.registration} in ('static', 'ephemeral', 'persistent')`),
    check("instances_warmup_seconds_check", sql`${t.warmupSeconds} between 0 and 3600`),
  ],
);

/**
 * An Oceanus routing policy. `private` policies belong to one service (service_id set) and only
 * its routes may use them; `public` ones (service_id null) are shared by name.
 */
export const policies = pgTable(
  "policies",
  {
    id: serial("id").primaryKey(),
    name: text("name").notNull().unique(),
    category: text("category").notNull(),
    serviceId: integer("service_id").references(() => services.id, { onDelete: "restrict" }),
    key: text("key").notNull(),
    passway: text("passway").notNull(),
    condition: text("condition").notNull(),
    groupName: text("group_name").notNull(),
    enabled: boolean("enabled").notNull().default(true),
    graylist: jsonb("graylist").$type<string[]>().notNull().default([]),
    /** The condition's lowered IR (wasm/cel/ir-codec.ts), written with the condition; null: lower the source. */
    conditionIr: jsonb("condition_ir").$type<unknown>(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index("policies_service_id_idx").on(t.serviceId),
    check("policies_category_check", sql`${t.category} in ('private', 'public')`),
    check("policies_category_service_check", sql`(${t.category} = 'private') = (${t.serviceId} is not null)`),
    check("policies_passway_check", sql`${t.passway} in ('query', 'header', 'cookie', 'body')`),
  ],
);

/** A route: host + location path of one service, its default group and ordered policy names. */
export const routes = pgTable(
  "routes",
  {
    id: serial("id").primaryKey(),
    serviceId: integer("service_id")
      .notNull()
      .references(() => services.id, { onDelete: "restrict" }),
    host: text("host").notNull().default("*"),
    path: text("path").notNull(),
    match: text("match").notNull(),
    /** Group name (in the service) used when no policy matches; "" when the route targets a function. */
    defaultGroup: text("default_group").notNull(),
    /** Function name (in the service) the route sends its default traffic to (issue 15); null for a group route. */
    function: text("function"),
    policies: jsonb("policies").$type<string[]>().notNull().default([]),
    timeoutMs: integer("timeout_ms").notNull().default(15000),
    /** Most request-body bytes the gateway reads for body attributes (docs/conditions.md). */
    bodyCapBytes: integer("body_cap_bytes").notNull().default(65536),
    /** Retry policy as the admin gave it (partial; control/snapshot/options.ts resolveRetry fills the defaults). */
    retry: jsonb("retry").$type<Record<string, unknown>>().notNull().default({}),
    /**
     * The route's own plugins, keyed by plugin name, as the admin gave them: each replaces the
     * service's plugin of that name; a null value turns the service's off for this route.
     */
    plugins: jsonb("plugins").$type<Record<string, unknown>>().notNull().default({}),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex("routes_host_path_match_key").on(t.host, t.path, t.match),
    index("routes_service_id_idx").on(t.serviceId),
    check("routes_match_check", sql`${t.match} in ('exact', 'prefix')`),
    check("routes_timeout_ms_check", sql`${t.timeoutMs} between 1 and 300000`),
    check("routes_body_cap_bytes_check", sql`${t.bodyCapBytes} between 0 and 1048576`),
    check("routes_target_check", sql`(${t.function} is null) <> (${t.defaultGroup} = '')`),
  ],
);

/** What a traffic cut acts on (docs/balancing.md, "Traffic cuts"). */
export const TRAFFIC_CUT_KINDS = ["instance", "group", "zone", "route"] as const;

/**
 * Active traffic cuts: each drains an instance, a group or a zone (optionally of one service), or
 * forces a route to another group of its service (`to_group`). Undoing a cut deletes its row; the
 * revision log keeps the history. A cut goes with the instance, group, route or service it names.
 * `target` is the cut's identity (`instance/12`, `group/3`, `zone/*\/eu-1`, `zone/4/eu-1`,
 * `route/7`): one active cut per target.
 */
export const trafficCuts = pgTable(
  "traffic_cuts",
  {
    id: serial("id").primaryKey(),
    kind: text("kind").notNull(),
    target: text("target").notNull(),
    instanceId: integer("instance_id").references(() => instances.id, { onDelete: "cascade" }),
    groupId: integer("group_id").references(() => groups.id, { onDelete: "cascade" }),
    /** The zone of a zone cut; `service_id` optionally limits it to one service. */
    zone: text("zone"),
    serviceId: integer("service_id").references(() => services.id, { onDelete: "cascade" }),
    routeId: integer("route_id").references(() => routes.id, { onDelete: "cascade" }),
    /** The group (of the route's service) a route cut sends all of the route's traffic to. */
    toGroup: text("to_group"),
    reason: text("reason").notNull().default(""),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex("traffic_cuts_target_key").on(t.target),
    check("traffic_cuts_kind_check", sql`${t.kind} in ('instance', 'group', 'zone', 'route')`),
    check(
      "traffic_cuts_fields_check",
      sql`case ${t.kind}
        when 'instance' then ${t.instanceId} is not null
        when 'group' then ${t.groupId} is not null
        when 'zone' then ${t.zone} is not null
        else ${t.routeId} is not null and ${t.toGroup} is not null end`,
    ),
  ],
);

/**
 * Append-only audit log: every successful API write inserts one row in its own transaction.
 * `body` is `{before, after}` (API representations; `null` on create/delete), so any past state
 * can be reconstructed. Never updated or deleted by the service.
 */
export const revisions = pgTable("revisions", {
  id: bigserial("id", { mode: "number" }).primaryKey(),
  createdAt: createdAt(),
  actor: text("actor").notNull(),
  action: text("action").notNull(),
  resource: text("resource").notNull(),
  resourceId: text("resource_id").notNull(),
  body: jsonb("body").$type<unknown>().notNull(),
});

/**
 * Compiled snapshot history, written by the snapshot builder (control/snapshot): `version` is the
 * monotonic snapshotVersion of docs/snapshot-format.md, `content_hash` its hex SHA-256, `size` in
 * bytes.
 */
export const snapshots = pgTable("snapshots", {
  version: bigserial("version", { mode: "bigint" }).primaryKey(),
  contentHash: text("content_hash").notNull(),
  size: integer("size").notNull(),
  createdAt: createdAt(),
  body: bytea("body").notNull(),
  /**
   * The largest revision id this snapshot's configuration includes (revisions commit in id order
   * under the config write lock). Raised in place when a later write leaves the content unchanged.
   */
  coversRevision: bigint("covers_revision", { mode: "number" }).notNull().default(0),
});

/**
 * Agent credentials, minted by an admin (POST /v1/agent-tokens): each may register and heartbeat
 * instances of its `appkeys` only. Only the SHA-256 of the token is stored; the token itself is
 * shown once, at creation.
 */
export const agentTokens = pgTable("agent_tokens", {
  id: serial("id").primaryKey(),
  name: text("name").notNull().unique(),
  tokenHash: text("token_hash").notNull().unique(),
  appkeys: jsonb("appkeys").$type<string[]>().notNull(),
  createdAt: createdAt(),
});

/**
 * What each gateway isolate last told control (on its snapshot requests): the snapshot version it
 * serves and whether a long poll is open. Telemetry, not configuration: upserted without revisions.
 * Read to decide whether a change has reached every gateway (GET /v1/propagation).
 */
export const gateways = pgTable("gateways", {
  id: text("id").primaryKey(),
  version: bigint("version", { mode: "number" }).notNull(),
  pollOpen: boolean("poll_open").notNull(),
  /** Until when an open poll may be held, as the gateway asked (`wait`). */
  pollUntil: timestamp("poll_until", { withTimezone: true }).notNull(),
  lastSeenAt: timestamp("last_seen_at", { withTimezone: true }).notNull(),
});

/**
 * Registry events worth an operator's attention, newest last: e.g. `protect_threshold_engaged`
 * when a service kept routing to instances that would have turned unhealthy at once.
 */
export const events = pgTable(
  "events",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    createdAt: createdAt(),
    appkey: text("appkey"),
    kind: text("kind").notNull(),
    message: text("message").notNull(),
    details: jsonb("details").$type<Record<string, unknown>>().notNull().default({}),
  },
  (t) => [index("events_appkey_idx").on(t.appkey, t.id)],
);

/**
 * A function of a service (issue 15): code run by the gateways, scaled as a Knative Service.
 * `scaling` holds the full settings (control/functions/autoscaler/settings.ts, defaults applied on
 * write, so the row says exactly what runs); `allow_outbound` lets its code fetch beyond the
 * gateway (default no). `last_version` is the last version number handed out: numbers are never
 * reused, even after a version is deleted. A service with functions cannot be deleted (restrict).
 */
export const functions = pgTable(
  "functions",
  {
    id: serial("id").primaryKey(),
    serviceId: integer("service_id")
      .notNull()
      .references(() => services.id, { onDelete: "restrict" }),
    name: text("name").notNull(),
    scaling: jsonb("scaling").$type<Record<string, unknown>>().notNull(),
    allowOutbound: boolean("allow_outbound").notNull().default(false),
    lastVersion: integer("last_version").notNull().default(0),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [uniqueIndex("functions_service_id_name_key").on(t.serviceId, t.name)],
);

/**
 * Uploaded code, content-addressed: `sha256` (hex) is the SHA-256 of `bytes`, the canonical
 * encoding of a version's modules (control/functions/bundle.ts); `size` is its length in bytes.
 * Identical uploads share one row; a row goes when its last version does.
 */
export const functionBundles = pgTable(
  "function_bundles",
  {
    sha256: text("sha256").primaryKey(),
    bytes: bytea("bytes").notNull(),
    size: integer("size").notNull(),
    createdAt: createdAt(),
  },
  (t) => [check("function_bundles_sha256_check", sql`${t.sha256} ~ '^[0-9a-f]{64}$'`)],
);

/**
 * An immutable version of a function (a Knative Revision): numbered 1, 2, 3… per function, its
 * bundle, entry module, env vars and compatibility date. Never updated; deleted only while no
 * traffic entry names it. `status` is `ready` (every upload that passes validation) or `failed`
 * (reserved for a later build step, with `error`).
 */
export const functionVersions = pgTable(
  "function_versions",
  {
    id: serial("id").primaryKey(),
    functionId: integer("function_id")
      .notNull()
      .references(() => functions.id, { onDelete: "cascade" }),
    number: integer("number").notNull(),
    bundleSha256: text("bundle_sha256")
      .notNull()
      .references(() => functionBundles.sha256, { onDelete: "restrict" }),
    mainModule: text("main_module").notNull(),
    env: jsonb("env").$type<Record<string, string>>().notNull().default({}),
    compatibilityDate: text("compatibility_date").notNull(),
    status: text("status").notNull().default("ready"),
    error: text("error"),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex("function_versions_function_id_number_key").on(t.functionId, t.number),
    index("function_versions_bundle_sha256_idx").on(t.bundleSha256),
    check("function_versions_number_check", sql`${t.number} >= 1`),
    check("function_versions_status_check", sql`${t.status} in ('ready', 'failed')`),
    check("function_versions_compatibility_date_check", sql`${t.compatibilityDate} ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$'`),
  ],
);

/**
 * A function's traffic split, as Knative's Service `traffic` block: `targets` is a list of
 * `{version: n | "latest", percent, tag?}` summing to 100 (control/functions/traffic.ts);
 * `stickiness` `{from: "header" | "cookie" | "query", name}` or null. One row per function, absent
 * until the first PUT; written whole, so a blue-green switch is one write.
 */
export const functionTraffic = pgTable("function_traffic", {
  functionId: integer("function_id")
    .primaryKey()
    .references(() => functions.id, { onDelete: "cascade" }),
  targets: jsonb("targets").$type<unknown[]>().notNull(),
  stickiness: jsonb("stickiness").$type<unknown>(),
  updatedAt: updatedAt(),
});

/** Lifecycle of a function instance as its agent reports it (docs/functions-runtime.md). Only `ready` receives traffic. */
export const FUNCTION_INSTANCE_STATES = ["starting", "ready", "draining", "failed"] as const;

/**
 * A running instance of a function version (a Knative pod): a worker process started by the agent
 * on `node`, reached through its queue-proxy at host:port. The agent's report is the node's whole
 * set: rows it no longer lists are removed, and rows whose lease (`reported_at` + 3 × the node's
 * report interval) lapsed are removed by control. `instance_key` is the agent's id for it.
 */
export const functionInstances = pgTable(
  "function_instances",
  {
    id: serial("id").primaryKey(),
    versionId: integer("version_id")
      .notNull()
      .references(() => functionVersions.id, { onDelete: "cascade" }),
    node: text("node").notNull(),
    instanceKey: text("instance_key").notNull(),
    host: text("host").notNull(),
    port: integer("port").notNull(),
    /** The node's OCTO zone (IDC), region and SET (cell), from its report: the balancers' zone and cell affinity. */
    zone: text("zone").notNull().default(""),
    region: text("region").notNull().default(""),
    cell: text("cell").notNull().default(""),
    state: text("state").notNull(),
    error: text("error"),
    startedAt: timestamp("started_at", { withTimezone: true }),
    readyAt: timestamp("ready_at", { withTimezone: true }),
    /** Process start to ready, ms (the instance's share of a cold start). */
    coldStartMs: doublePrecision("cold_start_ms"),
    reportedAt: timestamp("reported_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex("function_instances_node_instance_key_key").on(t.node, t.instanceKey),
    index("function_instances_version_id_idx").on(t.versionId),
    check("function_instances_port_check", sql`${t.port} between 1 and 65535`),
    check("function_instances_state_check", sql`${t.state} in ('starting', 'ready', 'draining', 'failed')`),
  ],
);

/**
 * The autoscaler's output per version (control/functions/scaler/): instances wanted now, panic
 * mode and why; `activation_requested_at` is the last gateway poke (Knative's activator poke),
 * so a replica that does not hold the scaler lock can hand it to the one that does.
 */
export const functionScale = pgTable("function_scale", {
  versionId: integer("version_id")
    .primaryKey()
    .references(() => functionVersions.id, { onDelete: "cascade" }),
  desired: integer("desired").notNull().default(0),
  panic: boolean("panic").notNull().default(false),
  reason: text("reason"),
  decidedAt: timestamp("decided_at", { withTimezone: true }),
  activationRequestedAt: timestamp("activation_requested_at", { withTimezone: true }),
});

/**
 * The latest load report of one source for one version: a gateway isolate (`gateway:<id>`) or a
 * node's queue-proxies (`node:<name>`). `concurrency` is the time-weighted average of requests in
 * flight over `interval_ms` ending at `at_ms` (Unix ms); `requests` were answered in it. The
 * scaler sums gateways and nodes separately and scales on the larger sum.
 */
export const functionLoad = pgTable(
  "function_load",
  {
    source: text("source").notNull(),
    versionId: integer("version_id")
      .notNull()
      .references(() => functionVersions.id, { onDelete: "cascade" }),
    atMs: bigint("at_ms", { mode: "number" }).notNull(),
    intervalMs: integer("interval_ms").notNull(),
    concurrency: doublePrecision("concurrency").notNull(),
    requests: integer("requests").notNull(),
  },
  (t) => [primaryKey({ columns: [t.source, t.versionId] })],
);

/**
 * A consumer (APISIX consumer, docs/edge-protection.md "Consumers"): who a request is once an auth
 * plugin recognised it. `key_auth_hash` is the lowercase hex SHA-256 of its key-auth key (the key
 * itself is never stored), unique across consumers; null when it has no key-auth credential.
 */
export const consumers = pgTable(
  "consumers",
  {
    id: serial("id").primaryKey(),
    name: text("name").notNull().unique(),
    description: text("description").notNull().default(""),
    labels: jsonb("labels").$type<Record<string, string>>().notNull().default({}),
    keyAuthHash: text("key_auth_hash").unique(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [check("consumers_key_auth_hash_check", sql`${t.keyAuthHash} ~ '^[0-9a-f]{64}$'`)],
);

/** jwt-auth algorithms a consumer may use (APISIX jwt-auth's HS256, RS256, ES256). */
export const JWT_ALGORITHMS = ["HS256", "RS256", "ES256"] as const;

/**
 * A consumer's jwt-auth credential (one per consumer, removed with it). `key` (the token's key
 * claim) is unique across consumers. HS256 has `secret` (write-only: never in the API or
 * revisions); RS256/ES256 have `public_keys` (JWKs converted at admission) and/or `jwks_url`,
 * whose last fetched key set is `jwks` (refreshed by control/config/jwks-refresher.ts).
 */
export const consumerJwtCredentials = pgTable(
  "consumer_jwt_credentials",
  {
    consumerId: integer("consumer_id")
      .primaryKey()
      .references(() => consumers.id, { onDelete: "cascade" }),
    key: text("key").notNull().unique(),
    algorithm: text("algorithm").notNull(),
    secret: text("secret"),
    publicKeys: jsonb("public_keys").$type<Record<string, unknown>[]>().notNull().default([]),
    jwksUrl: text("jwks_url"),
    /** The key set last fetched from `jwks_url` (public keys only); [] when none. */
    jwks: jsonb("jwks").$type<Record<string, unknown>[]>().notNull().default([]),
    jwksFetchedAt: timestamp("jwks_fetched_at", { withTimezone: true }),
    issuer: text("issuer"),
    audience: text("audience"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    check("consumer_jwt_credentials_algorithm_check", sql`${t.algorithm} in ('HS256', 'RS256', 'ES256')`),
    check(
      "consumer_jwt_credentials_key_material_check",
      sql`case when ${t.algorithm} = 'HS256' then ${t.secret} is not null and ${t.jwksUrl} is null
        else ${t.secret} is null and (${t.jwksUrl} is not null or jsonb_array_length(${t.publicKeys}) > 0) end`,
    ),
  ],
);

/** Config center formats (docs/config-center.md "Model"). */
export const CONFIG_FORMATS = ["properties", "json", "yaml", "text"] as const;

/** Kinds of config release: the draft published, an older release again, a gray's, a gray merged into main. */
export const CONFIG_RELEASE_KINDS = ["main", "rollback", "gray", "merge"] as const;

/** Lifecycle of a gray release: at most one `active` per namespace. */
export const CONFIG_GRAY_STATUSES = ["active", "merged", "abandoned"] as const;

/**
 * A config center namespace (docs/config-center.md): `(service, env, name)` with its format, an
 * optional JSON Schema (draft 2020-12, checked at every write), the editable draft and the main
 * release instances get. A service with namespaces cannot be deleted (RESTRICT); deleting a
 * namespace removes its releases and grays (CASCADE), whose history stays in revisions.
 */
export const configNamespaces = pgTable(
  "config_namespaces",
  {
    id: serial("id").primaryKey(),
    serviceId: integer("service_id")
      .notNull()
      .references(() => services.id, { onDelete: "restrict" }),
    env: text("env").notNull(),
    name: text("name").notNull(),
    format: text("format").notNull(),
    schema: jsonb("schema").$type<Record<string, unknown> | boolean>(),
    draft: text("draft").notNull().default(""),
    currentReleaseId: bigint("current_release_id", { mode: "number" }).references((): AnyPgColumn => configReleases.id),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex("config_namespaces_service_id_env_name_key").on(t.serviceId, t.env, t.name),
    check("config_namespaces_env_check", sql`${t.env} in ('prod', 'staging', 'test')`),
    check("config_namespaces_format_check", sql`${t.format} in ('properties', 'json', 'yaml', 'text')`),
  ],
);

/**
 * An immutable config release: `id` is the one monotonic sequence of every namespace's releases
 * (what watchers compare), `hash` the SHA-256 hex of `content`. `gray_id` is set for `gray`
 * releases (and `merge`, naming the gray merged).
 */
export const configReleases = pgTable(
  "config_releases",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    namespaceId: integer("namespace_id")
      .notNull()
      .references(() => configNamespaces.id, { onDelete: "cascade" }),
    kind: text("kind").notNull(),
    content: text("content").notNull(),
    hash: text("hash").notNull(),
    author: text("author").notNull(),
    comment: text("comment").notNull().default(""),
    grayId: integer("gray_id").references((): AnyPgColumn => configGrays.id),
    createdAt: createdAt(),
  },
  (t) => [
    index("config_releases_namespace_id_id_idx").on(t.namespaceId, t.id),
    check("config_releases_kind_check", sql`${t.kind} in ('main', 'rollback', 'gray', 'merge')`),
    check("config_releases_hash_check", sql`${t.hash} ~ '^[0-9a-f]{64}$'`),
  ],
);

/**
 * A gray release of a namespace: `rules` choose instances (control/config-center/gray-rules.ts),
 * `draft` is its editable content, `base_release_id` the main release it branched from (moved by
 * a rebase), `latest_release_id` its last published gray release (null until published).
 */
export const configGrays = pgTable(
  "config_grays",
  {
    id: serial("id").primaryKey(),
    namespaceId: integer("namespace_id")
      .notNull()
      .references(() => configNamespaces.id, { onDelete: "cascade" }),
    status: text("status").notNull().default("active"),
    rules: jsonb("rules").$type<Record<string, unknown>>().notNull(),
    draft: text("draft").notNull(),
    baseReleaseId: bigint("base_release_id", { mode: "number" }).references((): AnyPgColumn => configReleases.id),
    latestReleaseId: bigint("latest_release_id", { mode: "number" }).references((): AnyPgColumn => configReleases.id),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex("config_grays_one_active_key").on(t.namespaceId).where(sql`${t.status} = 'active'`),
    check("config_grays_status_check", sql`${t.status} in ('active', 'merged', 'abandoned')`),
  ],
);
