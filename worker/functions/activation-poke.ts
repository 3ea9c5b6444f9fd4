/**
 * The activator's poke: `POST /v1/gateway/activations?wait=<ms>ms` `{appkey, function, version}`
 * with the gateway token and `Sluice-Gateway: <isolate id>` (as the metrics push), answered 202 by
 * control, whose scaler then asks for instances of a version at zero (docs/functions-runtime.md).
 * Control holds the answer until an agent's committed report turns an instance of the version
 * ready (at most `wait`) and names it in `ready`: the buffer may send to it before the snapshot
 * that carries it arrives. Best effort: the buffer pokes again every second while requests wait,
 * so a lost poke is only logged.
 */
import type { VersionRef } from "./activator.ts";

/** Path of the poke on control. */
export const ACTIVATIONS_PATH = "/v1/gateway/activations";

/** A poke is abandoned this long after its `wait`, ms (the next one follows a second later anyway). */
const POKE_TIMEOUT_MS = 5000;

/** A ready instance control named in a poke's answer: its queue-proxy. */
export interface ReadyAddress {
  host: string;
  port: number;
}

export interface PokeTarget {
  /** Base URL of control. */
  controlUrl: string;
  gatewayToken: string;
}

/**
 * Sends one poke for `version` from isolate `gatewayId`, held by control up to `waitMs`. Never throws.
 * @param failed told why a poke got no 2xx (unreachable, timeout, status).
 * @returns the instances control named ready in its answer (entries that are not a host and a
 *   port 1–65535 are dropped); empty when none, or when the poke failed.
 */
export async function postActivation(
  target: PokeTarget,
  gatewayId: string,
  version: VersionRef,
  waitMs: number,
  failed: (reason: string) => void,
): Promise<ReadyAddress[]> {
  try {
    const response = await fetch(`${target.controlUrl}${ACTIVATIONS_PATH}?wait=${waitMs}ms`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${target.gatewayToken}`,
        "content-type": "application/json",
        "sluice-gateway": gatewayId,
      },
      body: JSON.stringify({ appkey: version.appkey, function: version.function, version: version.version }),
      signal: AbortSignal.timeout(waitMs + POKE_TIMEOUT_MS),
    });
    const text = await response.text();
    if (!response.ok) {
      failed(`control answered ${response.status}: ${text.slice(0, 200)}`);
      return [];
    }
    const ready: unknown = (JSON.parse(text) as { ready?: unknown }).ready;
    return Array.isArray(ready) ? ready.filter(isAddress).map((r) => ({ host: r.host, port: r.port })) : [];
  } catch (error) {
    failed(`control unreachable: ${(error as Error).message}`);
    return [];
  }
}

function isAddress(value: unknown): value is ReadyAddress {
  const r = value as ReadyAddress | null;
  return (
    typeof r === "object" &&
    r !== null &&
    typeof r.host === "string" &&
    r.host !== "" &&
    Number.isInteger(r.port) &&
    r.port >= 1 &&
    r.port <= 65535
  );
}
