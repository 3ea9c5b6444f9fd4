/**
 * A launcher in a process of its own, for the parent-death test: starts a gateway of `runtime`
 * (argv[2]) with 2 processes against a control that is not there, prints `pids <json>` once the
 * port answers, then waits to be killed.
 */
import { type GatewayRuntime, startGateway } from "../../worker/launcher/gateway.ts";

const runtime = process.argv[2] as GatewayRuntime;
const gateway = await startGateway({
  runtime,
  controlUrl: "http://127.0.0.1:9",
  gatewayToken: "parent-death-test-token-0123456789",
  // Any 32-byte Ed25519 public key: no snapshot ever arrives to be checked with it.
  snapshotPublicKey: Buffer.alloc(32, 7).toString("base64"),
  port: 0,
  processes: 2,
  stdio: "ignore",
});
console.log(`pids ${JSON.stringify(gateway.pids)}`);
setInterval(() => {}, 60_000);
