/**
 * The activator's poke: `POST /v1/gateway/activations` `{appkey, function, version}` with the
 * gateway token and `Sluice-Gateway: <isolate id>` (as the metrics push), answered 202 by control,
 * whose scaler then asks for instances of a version at zero (docs/functions-runtime.md).
 * Best effort: the buffer pokes again every second while requests wait, so a lost poke is only
 * logged.
 */
import type { VersionRef } from "./activator.ts";

/** Path of the poke on control. */
export const ACTIVATIONS_PATH = "/v1/gateway/activations";

/** A poke is abandoned after this long, ms (the next one follows a second later anyway). */
const POKE_TIMEOUT_MS = 5000;

export interface PokeTarget {
  /** Base URL of control. */
  controlUrl: string;
  gatewayToken: string;
}

/**
 * Sends one poke for `version` from isolate `gatewayId`. Never throws.
 * @param failed told why a poke got no 2xx (unreachable, timeout, status).
 */
export async function postActivation(
  target: PokeTarget,
  gatewayId: string,
  version: VersionRef,
  failed: (reason: string) => void,
): Promise<void> {
  try {
    const response = await fetch(`${target.controlUrl}${ACTIVATIONS_PATH}`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${target.gatewayToken}`,
        "content-type": "application/json",
        "sluice-gateway": gatewayId,
      },
      body: JSON.stringify({ appkey: version.appkey, function: version.function, version: version.version }),
      signal: AbortSignal.timeout(POKE_TIMEOUT_MS),
    });
    const text = await response.text();
    if (!response.ok) failed(`control answered ${response.status}: ${text.slice(0, 200)}`);
  } catch (error) {
    failed(`control unreachable: ${(error as Error).message}`);
  }
}
