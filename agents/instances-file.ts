/**
 * The agent's instances file, for hosts that run several services: YAML or JSON (YAML is a
 * superset), `{instances: [InstanceSpec, …]}` or a bare list. Pure: text in, specs out.
 *
 * @example
 *   instances:
 *     - appkey: com.example.orders
 *       group: stable
 *       port: 9101
 *       check: { type: http, path: /healthz, intervalMs: 1000 }
 *     - { appkey: com.example.search, group: main, port: 9201, registration: persistent, check: { type: tcp } }
 */
import { parse } from "yaml";
import { z } from "zod";
import { describeZodError, type InstanceSpec, InstanceSpecSchema } from "./spec.ts";

/** Most instances one agent keeps registered. */
export const MAX_INSTANCES = 1000;

const FileSchema = z.union([
  z.strictObject({ instances: z.array(InstanceSpecSchema).min(1).max(MAX_INSTANCES) }),
  z.array(InstanceSpecSchema).min(1).max(MAX_INSTANCES),
]);

/** @throws Error naming the file and the invalid field (`instances.1.port: …`). */
export function parseInstancesFile(text: string, name: string): InstanceSpec[] {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new Error(`${name}: not YAML or JSON: ${(err as Error).message}`);
  }
  const parsed = FileSchema.safeParse(doc);
  if (!parsed.success) throw new Error(`${name}: ${describeZodError(parsed.error)}`);
  const list = Array.isArray(parsed.data) ? parsed.data : parsed.data.instances;
  const seen = new Set<string>();
  for (const spec of list) {
    const key = `${spec.appkey}/${spec.group}/${spec.host}:${spec.port}`;
    if (seen.has(key)) throw new Error(`${name}: ${key} is listed twice`);
    seen.add(key);
  }
  return list;
}
