/**
 * Wires a replica's registry state: the in-memory registry (view), heartbeats, the change index
 * of blocking queries, gateway reports and agent tokens; and how a committed change (this
 * replica's or another's) reaches them. Only wiring: each part documents itself.
 */
import type { Logger } from "pino";
import { AgentTokenStore } from "../config/agent-token-store.ts";
import type { ChangeNotice } from "../config/write.ts";
import type { Database } from "../db/connect.ts";
import { latestRevisionId } from "../db/revisions.ts";
import { ChangeIndex } from "../propagation/change-index.ts";
import { GatewayTracker } from "../propagation/tracker.ts";
import type { HeartbeatGossip } from "./gossip.ts";
import { HeartbeatTable } from "./heartbeat-table.ts";
import type { RecoveryQueue } from "./recoveries.ts";
import { RegistryView } from "./view.ts";

export interface RegistryRuntime {
  view: RegistryView;
  heartbeats: HeartbeatTable;
  changes: ChangeIndex;
  tracker: GatewayTracker;
  agentTokens: AgentTokenStore;
  /** Set with several replicas (PostgreSQL): shares heartbeats with the leader. */
  gossip: HeartbeatGossip | null;
  /** Set by createApp (it needs the API's write path). */
  recoveries: RecoveryQueue | null;
  /** Loads the view, the tokens and the start index once. */
  ready(): Promise<void>;
  /** Applies a committed change (idempotent: a local write arrives directly and again by NOTIFY). */
  applyChange(notice: ChangeNotice): void;
  /** After a lost notification connection: reload everything. */
  resync(): void;
  stop(): void;
}

export function createRegistryRuntime(db: Database, logger: Logger): RegistryRuntime {
  const view = new RegistryView(db, logger);
  const agentTokens = new AgentTokenStore(db, logger);
  const changes = new ChangeIndex(0);
  let loaded: Promise<void> | null = null;
  const runtime: RegistryRuntime = {
    view,
    heartbeats: new HeartbeatTable(),
    changes,
    tracker: new GatewayTracker(db, logger),
    agentTokens,
    gossip: null,
    recoveries: null,
    ready() {
      loaded ??= (async () => {
        changes.record({ revisionId: await latestRevisionId(db), appkeys: null });
        await Promise.all([view.load(), agentTokens.ready()]);
      })().catch((err) => {
        loaded = null;
        throw err;
      });
      return loaded;
    },
    applyChange(notice) {
      changes.record(notice);
      view.scheduleReload();
      // The token store reads only agent_tokens: other writes leave it as it is.
      if (notice.resources?.includes("agent_token") !== false) agentTokens.scheduleReload();
    },
    resync() {
      view.scheduleReload();
      agentTokens.scheduleReload();
      latestRevisionId(db)
        .then((revisionId) => changes.record({ revisionId, appkeys: null }))
        .catch(() => {});
    },
    stop() {
      view.stop();
      agentTokens.stop();
      changes.close();
    },
  };
  return runtime;
}
