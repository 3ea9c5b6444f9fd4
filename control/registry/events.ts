/**
 * Registry events (events table), written in the same transaction as the change they describe:
 * an operator's timeline of a service's health, readable with GET /v1/events.
 */
import type { Transaction } from "../db/connect.ts";
import { events } from "../db/schema.ts";

export const EVENT_KINDS = [
  /** The protect threshold held back instances that would have turned unhealthy (protect.ts). */
  "protect_threshold_engaged",
  /** The would-be unhealthy share fell back under the threshold. */
  "protect_threshold_released",
  "instance_unhealthy",
  "instance_healthy",
  "instance_removed",
  /** A sweep ran late (the process stalled); silence during the stall was not held against instances. */
  "sweep_stalled",
] as const;

export type EventKind = (typeof EVENT_KINDS)[number];

export interface RegistryEvent {
  /** null for events about the registry itself. */
  appkey: string | null;
  kind: EventKind;
  message: string;
  details?: Record<string, unknown>;
}

/** Appends `list` inside `tx`. */
export async function insertEvents(tx: Transaction, list: readonly RegistryEvent[]): Promise<void> {
  if (list.length === 0) return;
  await tx.insert(events).values(list.map((e) => ({ appkey: e.appkey, kind: e.kind, message: e.message, details: e.details ?? {} })));
}
