/**
 * What the agent is told to keep registered: one InstanceSpec per local service instance, from
 * the command line (args.ts) or a YAML/JSON file (instances-file.ts). Validation only (zod);
 * control validates again and has the last word.
 */
import { z } from "zod";
import type { ConfigDeliverySettings } from "./config-delivery.ts";
import type { FunctionsSettings } from "./functions/runtime.ts";

/** APISIX's active health check defaults: 1 s interval and timeout, 2 successes → healthy. */
export const CHECK_DEFAULTS = { intervalMs: 1000, timeoutMs: 1000, healthySuccesses: 2 } as const;
/** Consecutive failures → unhealthy, as APISIX: http_failures 5, tcp_failures 2. */
export const UNHEALTHY_FAILURES = { http: 5, tcp: 2 } as const;

const label = z.string().regex(/^[\x21-\x7e]{0,64}$/, "at most 64 printable ASCII characters without spaces");

export const CheckSpecSchema = z
  .strictObject({
    type: z.enum(["http", "tcp"]),
    /** HTTP only: the path to GET; a 2xx or 3xx answer passes. */
    path: z.string().regex(/^\//, "must start with /").default("/"),
    /** Where to probe; defaults to the instance's own host and port. */
    host: z.string().min(1).optional(),
    port: z.number().int().min(1).max(65535).optional(),
    intervalMs: z.number().int().min(50).max(600_000).default(CHECK_DEFAULTS.intervalMs),
    timeoutMs: z.number().int().min(10).max(60_000).default(CHECK_DEFAULTS.timeoutMs),
    healthySuccesses: z.number().int().min(1).max(100).default(CHECK_DEFAULTS.healthySuccesses),
    /** Default: 5 for http, 2 for tcp. */
    unhealthyFailures: z.number().int().min(1).max(100).optional(),
  })
  .transform((c) => ({ ...c, unhealthyFailures: c.unhealthyFailures ?? UNHEALTHY_FAILURES[c.type] }));

export type CheckSpec = z.output<typeof CheckSpecSchema>;

export const InstanceSpecSchema = z.strictObject({
  appkey: z.string().min(2).max(64),
  group: z.string().min(1).max(64),
  /** The address gateways connect to (default 127.0.0.1). */
  host: z.string().min(1).default("127.0.0.1"),
  port: z.number().int().min(1).max(65535),
  weight: z.number().int().min(0).max(10000).default(10),
  registration: z.enum(["ephemeral", "persistent"]).default("ephemeral"),
  env: z.enum(["prod", "staging", "test"]).default("prod"),
  zone: label.default(""),
  region: label.default(""),
  idc: label.default(""),
  cell: label.default(""),
  lane: label.default(""),
  version: label.default(""),
  role: z.enum(["primary", "backup"]).default("primary"),
  protocol: label.default("http"),
  metadata: z.record(z.string(), z.string()).default({}),
  warmupSeconds: z.number().int().min(0).max(3600).default(0),
  check: CheckSpecSchema.optional(),
});

export type InstanceSpec = z.output<typeof InstanceSpecSchema>;

/** How the agent drains on SIGTERM. */
export interface DrainSettings {
  /** Longest wait for every gateway to acknowledge `stopping`, ms (default 30000). */
  timeoutMs: number;
  /** Extra wait after acknowledgement, for requests already in flight, ms (default 1000). */
  graceMs: number;
}

export interface AgentConfig {
  /** Control's base URL, e.g. `http://127.0.0.1:7400`. */
  controlUrl: string;
  instances: InstanceSpec[];
  /** `--functions`: run assigned function instances (functions/runtime.ts); null otherwise. */
  functions: FunctionsSettings | null;
  drain: DrainSettings;
  /** Where the token comes from: SLUICE_AGENT_TOKEN or --token-file (read by main.ts). */
  tokenFile: string | null;
  /** An instances file to read (main.ts reads it, instances-file.ts parses it). */
  instancesFile: string | null;
  logLevel: string;
  /** `--config`: deliver config center namespaces (config-delivery.ts); null otherwise. */
  configDelivery: ConfigDeliverySettings | null;
}

/** "a.b: message; c: message" from a zod error. */
export function describeZodError(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join(".") || "(value)"}: ${i.message}`).join("; ");
}
