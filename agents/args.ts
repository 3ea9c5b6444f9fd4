/**
 * The command line of `sluice-agent` → AgentConfig. Pure: argv in, config out; files are read by
 * main.ts. The token is never a flag (it would show in `ps`): SLUICE_AGENT_TOKEN or --token-file.
 *
 * @example
 *   sluice-agent --control http://127.0.0.1:7400 --token-file /etc/sluice/agent-token \
 *     --appkey com.example.orders --group stable --port 9101 --check http:/healthz
 *   sluice-agent --control http://127.0.0.1:7400 --file /etc/sluice/instances.yaml
 */
import { constants } from "node:os";
import { parseArgs } from "node:util";
import { type ConfigDeliverySettings, DEFAULT_CONFIG_DIR } from "./config-delivery.ts";
import { type AgentConfig, describeZodError, InstanceSpecSchema } from "./spec.ts";

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

export const USAGE = `usage: sluice-agent --control URL [--token-file PATH] (--file INSTANCES.yaml | instance flags) [options]

  token: SLUICE_AGENT_TOKEN, or --token-file (an agent token an admin minted: POST /v1/agent-tokens)
  instance flags (one instance):
    --appkey A --group G --port P [--host 127.0.0.1] [--weight 10] [--persistent]
    [--env prod|staging|test] [--zone Z] [--region R] [--idc I] [--cell C] [--lane L] [--version V]
    [--role primary|backup] [--protocol http] [--metadata k=v]... [--warmup-seconds N]
    [--check http:/path | --check tcp] [--check-interval-ms 1000] [--check-timeout-ms 1000]
    [--healthy-successes 2] [--unhealthy-failures 5 (http) / 2 (tcp)]
  --functions        run the function instances control assigns this node (docs/functions-runtime.md):
    [--node NAME (hostname)] [--host 127.0.0.1 (queue-proxies listen and are reported here)]
    [--data-dir .sluice/agent-functions] [--zone Z] [--region R] [--cell C] [--lane L] [--file PATH]
  --config APPKEY:ENV:NS1,NS2   deliver these config center namespaces (docs/config-center.md):
    [--config-dir .sluice/agent-config] [--config-port PORT (127.0.0.1 only)]
    [--config-signal PID:SIGNAL | --config-command "PROGRAM ARG…" (split on spaces, no shell)]
    (gray rules see --zone --cell --lane --version, --host[:--port], the host name)
  --file PATH        several instances, YAML or JSON: {instances: [{appkey, group, port, check: {type, path}, …}]}
  --drain-timeout-ms 30000   longest wait for the gateways to drain an instance on SIGTERM
  --drain-grace-ms 1000      extra wait after they have, for requests in flight
  --log-level info`;

const OPTIONS = {
  control: { type: "string" },
  "token-file": { type: "string" },
  file: { type: "string" },
  appkey: { type: "string" },
  group: { type: "string" },
  host: { type: "string" },
  port: { type: "string" },
  weight: { type: "string" },
  persistent: { type: "boolean" },
  env: { type: "string" },
  zone: { type: "string" },
  region: { type: "string" },
  idc: { type: "string" },
  cell: { type: "string" },
  lane: { type: "string" },
  version: { type: "string" },
  role: { type: "string" },
  protocol: { type: "string" },
  metadata: { type: "string", multiple: true },
  "warmup-seconds": { type: "string" },
  check: { type: "string" },
  "check-interval-ms": { type: "string" },
  "check-timeout-ms": { type: "string" },
  "healthy-successes": { type: "string" },
  "unhealthy-failures": { type: "string" },
  "drain-timeout-ms": { type: "string" },
  "drain-grace-ms": { type: "string" },
  "log-level": { type: "string" },
  functions: { type: "boolean" },
  node: { type: "string" },
  "data-dir": { type: "string" },
  config: { type: "string" },
  "config-dir": { type: "string" },
  "config-port": { type: "string" },
  "config-signal": { type: "string" },
  "config-command": { type: "string" },
  help: { type: "boolean" },
} as const;

/** Where --functions keeps bundles and instance configs unless --data-dir says otherwise. */
export const DEFAULT_FUNCTIONS_DATA_DIR = ".sluice/agent-functions";

/**
 * @returns the config; `instances` is empty when --file is given (main.ts fills it).
 * @throws UsageError naming the offending flag.
 */
export function parseAgentArgs(argv: string[]): AgentConfig {
  let values: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; args: string[]; allowPositionals: false }>>["values"];
  try {
    ({ values } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: false, strict: true }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values.help) throw new UsageError("");
  if (!values.control) throw new UsageError("--control is required");
  try {
    new URL(values.control);
  } catch {
    throw new UsageError(`--control: not a URL: ${values.control}`);
  }
  const config: AgentConfig = {
    controlUrl: values.control,
    instances: [],
    functions: null,
    drain: {
      timeoutMs: int(values["drain-timeout-ms"], "--drain-timeout-ms", 30_000),
      graceMs: int(values["drain-grace-ms"], "--drain-grace-ms", 1000),
    },
    tokenFile: values["token-file"] ?? null,
    instancesFile: values.file ?? null,
    logLevel: values["log-level"] ?? "info",
    configDelivery: configDeliveryOf(values),
  };
  if (values.functions) {
    if (values.appkey || values.group || values.port)
      throw new UsageError("--functions takes no instance flags (use --file for services on this host)");
    const labels = { zone: values.zone ?? "", region: values.region ?? "", cell: values.cell ?? "", lane: values.lane ?? "" };
    for (const [name, value] of Object.entries(labels)) {
      if (!/^[\x21-\x7e]{0,64}$/.test(value)) throw new UsageError(`--${name}: at most 64 printable ASCII characters without spaces`);
    }
    // main.ts fills an empty node name with the hostname.
    config.functions = {
      node: values.node ?? "",
      host: values.host ?? "127.0.0.1",
      dataDir: values["data-dir"] ?? DEFAULT_FUNCTIONS_DATA_DIR,
      ...labels,
    };
    return config;
  }
  if (values.node || values["data-dir"]) throw new UsageError("--node and --data-dir go with --functions");
  if (values.file) {
    if (values.appkey || values.port) throw new UsageError("give either --file or the instance flags, not both");
    return config;
  }
  // --config alone: config delivery only, no instance to register.
  if (config.configDelivery && !values.appkey && !values.group && !values.port) return config;
  if (!values.appkey || !values.group || !values.port) throw new UsageError("--appkey, --group and --port are required (or --file)");
  const raw = {
    appkey: values.appkey,
    group: values.group,
    host: values.host,
    port: int(values.port, "--port"),
    weight: values.weight === undefined ? undefined : int(values.weight, "--weight"),
    registration: values.persistent ? "persistent" : "ephemeral",
    env: values.env,
    zone: values.zone,
    region: values.region,
    idc: values.idc,
    cell: values.cell,
    lane: values.lane,
    version: values.version,
    role: values.role,
    protocol: values.protocol,
    metadata: metadataOf(values.metadata ?? []),
    warmupSeconds: values["warmup-seconds"] === undefined ? undefined : int(values["warmup-seconds"], "--warmup-seconds"),
    check: values.check === undefined ? undefined : checkOf(values),
  };
  const parsed = InstanceSpecSchema.safeParse(JSON.parse(JSON.stringify(raw)));
  if (!parsed.success) throw new UsageError(describeZodError(parsed.error));
  config.instances = [parsed.data];
  return config;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** The --config* flags → settings (null without --config). @throws UsageError naming the flag. */
function configDeliveryOf(values: Record<string, unknown>): ConfigDeliverySettings | null {
  const spec = values.config as string | undefined;
  const extras = ["config-dir", "config-port", "config-signal", "config-command"].filter((f) => values[f] !== undefined);
  if (spec === undefined) {
    if (extras.length > 0) throw new UsageError(`--${extras[0]} goes with --config`);
    return null;
  }
  const parts = spec.split(":");
  const namespaces = (parts[2] ?? "").split(",").filter(Boolean);
  if (parts.length !== 3 || !NAME.test(parts[0] as string) || !NAME.test(parts[1] as string) || namespaces.length === 0)
    throw new UsageError(`--config: expected APPKEY:ENV:NS1,NS2, got ${spec}`);
  for (const n of namespaces) if (!NAME.test(n)) throw new UsageError(`--config: not a namespace name (letters, digits, . _ -): ${n}`);
  if (values["config-signal"] !== undefined && values["config-command"] !== undefined)
    throw new UsageError("give --config-signal or --config-command, not both");
  let action: ConfigDeliverySettings["action"] = null;
  if (values["config-signal"] !== undefined) {
    const m = /^([0-9]{1,9}):(?:SIG)?([A-Z0-9]+)$/.exec(values["config-signal"] as string);
    const signal = m ? (`SIG${m[2]}` as NodeJS.Signals) : null;
    if (!m || !signal || !(signal in constants.signals) || Number(m[1]) < 1)
      throw new UsageError(`--config-signal: expected PID:SIGNAL (e.g. 1234:SIGHUP), got ${values["config-signal"]}`);
    action = { kind: "signal", pid: Number(m[1]), signal };
  }
  if (values["config-command"] !== undefined) {
    const argv = (values["config-command"] as string).split(/\s+/).filter(Boolean);
    if (argv.length === 0) throw new UsageError("--config-command: empty");
    action = { kind: "command", argv };
  }
  const host = values.host as string | undefined;
  const port = values.port as string | undefined;
  return {
    appkey: parts[0] as string,
    env: parts[1] as string,
    namespaces: [...new Set(namespaces)],
    dir: (values["config-dir"] as string | undefined) ?? DEFAULT_CONFIG_DIR,
    port: values["config-port"] === undefined ? null : int(values["config-port"] as string, "--config-port"),
    action,
    identity: {
      // main.ts fills instanceId with the host name.
      ...(host ? { address: port ? `${host}:${port}` : host } : {}),
      ...Object.fromEntries(["zone", "cell", "lane", "version"].filter((k) => values[k]).map((k) => [k, values[k] as string])),
    },
  };
}

function checkOf(values: Record<string, unknown>) {
  const spec = values.check as string;
  const http = /^http:(\/.*)$/.exec(spec);
  if (!http && spec !== "tcp") throw new UsageError(`--check: expected http:/path or tcp, got ${spec}`);
  const opt = (flag: string) => (values[flag] === undefined ? undefined : int(values[flag] as string, `--${flag}`));
  return {
    type: http ? "http" : "tcp",
    ...(http ? { path: http[1] } : {}),
    intervalMs: opt("check-interval-ms"),
    timeoutMs: opt("check-timeout-ms"),
    healthySuccesses: opt("healthy-successes"),
    unhealthyFailures: opt("unhealthy-failures"),
  };
}

function metadataOf(pairs: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new UsageError(`--metadata: expected key=value, got ${pair}`);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

function int(text: string | undefined, flag: string, fallback?: number): number {
  if (text === undefined) {
    if (fallback === undefined) throw new UsageError(`${flag} is required`);
    return fallback;
  }
  if (!/^[0-9]{1,9}$/.test(text)) throw new UsageError(`${flag}: expected a non-negative integer, got ${text}`);
  return Number(text);
}
