/** What the registry endpoints need besides the API's common dependencies. */
import type { ConfigDeps } from "../config/write.ts";
import type { ControlMetrics } from "../metrics/registry.ts";
import type { RegistryRuntime } from "../registry/runtime.ts";

export interface RegistryDeps extends ConfigDeps {
  registry: RegistryRuntime;
  /** Control's metrics (heartbeats accepted); createApp always sets it. */
  metrics?: ControlMetrics;
}

/** Header carrying the revision id of a write (Consul's X-Consul-Index on writes). */
export const REVISION_HEADER = "Sluice-Revision";
/** Header carrying a blocking query's index. */
export const INDEX_HEADER = "Sluice-Index";
