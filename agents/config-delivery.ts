/**
 * `sluice-agent --config appkey:env:ns1,ns2`: config center delivery beside a service
 * (docs/config-center.md "Client and agent"). Runs the config client (config-client/) with its
 * cache in `<dir>/.cache/`, writes each namespace's content to `<dir>/<namespace>.<ext>`
 * atomically (ext by format: properties, json, yaml, txt) whenever its release changes, serves
 * the releases on 127.0.0.1:`port` (config-http.ts) when a port is given, and after each
 * change's file is written sends the signal or runs the command (config-hook.ts).
 */

import { mkdir, readFile } from "node:fs/promises";
import type http from "node:http";
import { join } from "node:path";
import type { Logger } from "pino";
import { writeFileAtomic } from "./config-client/atomic-write.ts";
import { type ConfigClient, type ConfigRelease, createConfigClient } from "./config-client/client.ts";
import { extensionOf } from "./config-client/formats.ts";
import type { ConfigIdentity } from "./config-client/wire.ts";
import { type ChangeAction, ChangeHook } from "./config-hook.ts";
import { startConfigHttp } from "./config-http.ts";

/** What `--config*` asks for (args.ts). */
export interface ConfigDeliverySettings {
  appkey: string;
  env: string;
  namespaces: string[];
  /** Where the files go (and `.cache/` inside), `--config-dir` (default `.sluice/agent-config`). */
  dir: string;
  /** `--config-port` (0: any free port); null: no HTTP endpoint. */
  port: number | null;
  /** `--config-signal` or `--config-command`; null: nothing runs on change. */
  action: ChangeAction | null;
  /** What gray rules match on: `--zone --cell --lane --version`, the instance's address, the host name. */
  identity: ConfigIdentity;
}

/** Where the files go unless --config-dir says otherwise. */
export const DEFAULT_CONFIG_DIR = ".sluice/agent-config";

export class ConfigDelivery {
  private readonly settings: ConfigDeliverySettings;
  private readonly logger: Logger;
  private readonly client: ConfigClient;
  private readonly hook: ChangeHook | null;
  private server: http.Server | null = null;
  /** File writes run one after another, so a namespace's files follow its releases in order. */
  private writes: Promise<void> = Promise.resolve();

  /**
   * @param commandEnv the environment a `--config-command` runs with (without the agent token).
   */
  constructor(settings: ConfigDeliverySettings, controlUrl: string, token: string, logger: Logger, commandEnv: NodeJS.ProcessEnv) {
    this.settings = settings;
    this.logger = logger;
    this.client = createConfigClient({
      controlUrl,
      token,
      appkey: settings.appkey,
      env: settings.env,
      namespaces: settings.namespaces,
      identity: settings.identity,
      cacheDir: join(settings.dir, ".cache"),
      logger,
    });
    this.hook = settings.action ? new ChangeHook(settings.action, logger, commandEnv) : null;
    for (const namespace of settings.namespaces) {
      this.client.onChange(namespace, (change) => {
        this.enqueue(change, true);
      });
    }
  }

  /**
   * Loads the cache, fetches once, writes every namespace's file that differs, starts the
   * endpoint and the watch. Control down is not an error (the cache serves).
   * @throws when the directory cannot be created or the port cannot be bound.
   */
  async start(): Promise<void> {
    await mkdir(this.settings.dir, { recursive: true });
    await this.client.start();
    for (const namespace of this.settings.namespaces) {
      const release = this.client.release(namespace);
      if (release) this.enqueue(release, false);
    }
    await this.writes;
    if (this.settings.port !== null) {
      const { server, port } = await startConfigHttp(this.settings.port, (namespace) =>
        this.settings.namespaces.includes(namespace) ? this.client.release(namespace) : undefined,
      );
      this.server = server;
      this.logger.info({ port, address: "127.0.0.1" }, "config served");
    }
    this.logger.info(
      { appkey: this.settings.appkey, env: this.settings.env, namespaces: this.settings.namespaces, dir: this.settings.dir },
      "config delivery started",
    );
  }

  /** Stops the watch, the endpoint and the hook (waiting for a command in progress). */
  async stop(): Promise<void> {
    await this.client.close();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server?.closeAllConnections();
    await this.writes;
    await this.hook?.stop();
  }

  /** Queues the file write of `release`, then (for a change) the hook. */
  private enqueue(release: ConfigRelease, changed: boolean): void {
    this.writes = this.writes.then(async () => {
      const path = join(this.settings.dir, `${release.namespace}.${extensionOf(release.format)}`);
      try {
        const existing = await readFile(path, "utf8").catch(() => null);
        if (existing !== release.content) await writeFileAtomic(path, release.content);
        if (changed) this.logger.info({ namespace: release.namespace, release: release.release, path }, "config file written");
      } catch (err) {
        this.logger.warn({ namespace: release.namespace, path, err: (err as Error).message }, "config file write failed");
        return;
      }
      if (changed) this.hook?.trigger([release.namespace]);
    });
  }
}
