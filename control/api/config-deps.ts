/** What the config center's endpoints need besides the API's common dependencies. */

import type { ConfigDeps } from "../config/write.ts";
import type { NamespaceKey } from "../config-center/store.ts";
import type { ConfigWatchHub } from "../config-center/watch-hub.ts";

export interface ConfigCenterDeps extends ConfigDeps {
  /** This replica's held watches; woken after each committed release (other replicas hear the NOTIFY). */
  configWatch: ConfigWatchHub;
}

/** After a commit that changed what instances of `key` get: wake this replica's watches at once. */
export function wakeWatches(deps: ConfigCenterDeps, key: NamespaceKey): void {
  deps.configWatch.notify(key.appkey, key.env, key.name);
}
