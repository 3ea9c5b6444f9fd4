/**
 * `sluice-agent` (npm run agent -- …, or npx node agents/main.ts …): the node agent daemon. Reads
 * its token (SLUICE_AGENT_TOKEN or --token-file) and instances (flags or --file), registers and
 * heartbeats them (agent.ts) and, with --functions, runs the function instances control assigns
 * (functions/runtime.ts) and, with --config, delivers config center namespaces (config-delivery.ts)
 * until SIGTERM/SIGINT, then drains both and exits 0. A
 * second signal exits at once. Exit codes: 0 stopped cleanly, 1 failure, 2 usage error.
 */
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import pino from "pino";
import { Agent } from "./agent.ts";
import { parseAgentArgs, USAGE, UsageError } from "./args.ts";
import { ConfigDelivery } from "./config-delivery.ts";
import { ControlClient } from "./control-client.ts";
import { FunctionsClient } from "./functions/client.ts";
import { FunctionRuntime } from "./functions/runtime.ts";
import { parseInstancesFile } from "./instances-file.ts";

function fail(message: string, code: number): never {
  if (message) console.error(`sluice-agent: ${message}`);
  if (code === 2) console.error(USAGE);
  process.exit(code);
}

let config: ReturnType<typeof parseAgentArgs>;
let token: string;
try {
  config = parseAgentArgs(process.argv.slice(2));
  token = (config.tokenFile ? readFileSync(config.tokenFile, "utf8") : (process.env.SLUICE_AGENT_TOKEN ?? "")).trim();
  if (!token) throw new UsageError("no token: set SLUICE_AGENT_TOKEN or pass --token-file");
  if (config.instancesFile) config.instances = parseInstancesFile(readFileSync(config.instancesFile, "utf8"), config.instancesFile);
} catch (err) {
  fail((err as Error).message, err instanceof UsageError ? 2 : 1);
}

const logger = pino({ name: "sluice-agent", level: config.logLevel });
const control = new ControlClient(config.controlUrl, token);
// With --functions or --config and no instance there is nothing to register: no registry loop at all.
const agent = (config.functions || config.configDelivery) && config.instances.length === 0 ? null : new Agent(config, control, logger);
agent?.start();
if (config.configDelivery) config.configDelivery.identity.instanceId ??= hostname();
// A --config-command runs without the agent's token.
const { SLUICE_AGENT_TOKEN: _token, ...commandEnv } = process.env;
const configDelivery = config.configDelivery
  ? new ConfigDelivery(config.configDelivery, config.controlUrl, token, logger, commandEnv)
  : null;
configDelivery?.start().catch((err) => {
  logger.error({ err: (err as Error).message }, "config delivery failed to start");
  process.exit(1);
});
if (config.functions && !config.functions.node) config.functions.node = hostname();
const functions = config.functions
  ? new FunctionRuntime(config.functions, new FunctionsClient(config.controlUrl, token), control, config.drain, logger)
  : null;
functions?.start();
logger.info(
  { control: config.controlUrl, instances: config.instances.length, functions: config.functions?.node ?? null, pid: process.pid },
  "agent started",
);

let stopping = false;
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.on(signal, () => {
    if (stopping) process.exit(1);
    stopping = true;
    logger.info({ signal }, "draining before exit");
    void Promise.all([agent?.stop(), functions?.stop(), configDelivery?.stop()]).then(() => {
      logger.info("stopped");
      logger.flush?.();
      process.exit(0);
    });
  });
}
