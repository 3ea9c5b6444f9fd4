/**
 * A PostgreSQL server of the test's own, for fault tests that stop and restart the database: the
 * shared server on 127.0.0.1:5432 serves the other test files at the same time, so it is never
 * the one restarted. Debian's server binaries (`/usr/lib/postgresql/<major>/bin`), a fresh
 * cluster in a temporary directory (trust auth, fsync off), listening on 127.0.0.1 and a free
 * port. As root, the server runs as the `postgres` user (PostgreSQL refuses root).
 */
import { execFileSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../../bench/proc.ts";

export interface PrivatePostgres {
  /** `postgres://postgres@127.0.0.1:<port>/postgres`. */
  url: string;
  port: number;
  /** Fast shutdown: open sessions end with 57P01 admin_shutdown, as in a real restart. */
  stop(): void;
  start(): void;
  /** Stops the server (immediate) and deletes its files. */
  close(): void;
}

/** The newest installed PostgreSQL's bin directory, or null when there is none. */
function serverBin(): string | null {
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return null;
  const majors = readdirSync(root)
    .filter((v) => existsSync(join(root, v, "bin", "initdb")))
    .sort((a, b) => Number(b) - Number(a));
  return majors[0] ? join(root, majors[0], "bin") : null;
}

/** Whether a private server can be started here (Debian's server binaries are installed). */
export function canStartPrivatePostgres(): boolean {
  return serverBin() !== null && (process.getuid?.() !== 0 || hasPostgresUser());
}

function hasPostgresUser(): boolean {
  try {
    execFileSync("id", ["-u", "postgres"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/**
 * Creates and starts the server.
 * @throws when the binaries are missing or the server does not start.
 */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const bin = serverBin();
  if (!bin) throw new Error("no PostgreSQL server binaries under /usr/lib/postgresql");
  const asRoot = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), "sluice-pg-"));
  if (asRoot) {
    const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim());
    const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim());
    chownSync(dir, uid, gid);
  }
  const run = (tool: string, args: string[]) => {
    const command = asRoot ? "runuser" : join(bin, tool);
    const full = asRoot ? ["-u", "postgres", "--", join(bin, tool), ...args] : args;
    execFileSync(command, full, { stdio: "pipe", cwd: dir });
  };
  const data = join(dir, "data");
  const port = await freePort();
  run("initdb", ["-D", data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"]);
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off`;
  const start = () => run("pg_ctl", ["-D", data, "-o", options, "-l", join(dir, "log"), "-w", "-t", "30", "start"]);
  start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    stop: () => run("pg_ctl", ["-D", data, "-m", "fast", "-w", "-t", "30", "stop"]),
    start,
    close: () => {
      try {
        run("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"]);
      } catch {
        // already stopped
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
