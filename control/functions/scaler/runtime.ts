/**
 * The function runtime's shared state on one control replica: the nodes heard from, the
 * assignment board their long polls read, the instances their reports turn ready, the scaler (when started) and the clock. createApp
 * hands it to the agent and gateway endpoints; startControl also runs the scaler over it.
 */
import type { AssignmentBoard } from "./board.ts";
import { AssignmentBoard as Board } from "./board.ts";
import type { FunctionNodes } from "./nodes.ts";
import { FunctionNodes as Nodes } from "./nodes.ts";
import { ReadyAnnouncements } from "./ready.ts";
import type { Scaler } from "./scaler.ts";

export interface FunctionRuntime {
  nodes: FunctionNodes;
  board: AssignmentBoard;
  /** Instances as committed reports turn them ready, for held activation requests. */
  ready: ReadyAnnouncements;
  /** The scaler loop; absent when this process runs none (API-only tests). */
  scaler?: Scaler;
  /** Clock, Unix ms: stamps leases and load (tests inject one to drive whole windows). */
  now: () => number;
}

/** A runtime with no nodes and an empty board. */
export function createFunctionRuntime(now: () => number = Date.now): FunctionRuntime {
  return { nodes: new Nodes(), board: new Board(now()), ready: new ReadyAnnouncements(), now };
}
