/**
 * The agent's bundle cache: each bundle's modules as files under `<dataDir>/bundles/<sha256>/modules/`,
 * where the instance configs embed them. A bundle is fetched once (concurrent starts of the same
 * version share the download), verified against its SHA-256 (bundle.ts), written to a temporary
 * directory and renamed into place, so a directory that exists is complete. Content-addressed, so
 * a cached bundle never goes stale; nothing is evicted (bundles are ≤ 10 MiB and versions few).
 */
import { randomBytes } from "node:crypto";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { type BundleModule, decodeBundleAnswer } from "./bundle.ts";

/** A cached bundle: its directory (modules under `modules/`) and its modules' names and kinds. */
export interface CachedBundle {
  dir: string;
  modules: Pick<BundleModule, "name" | "type">[];
}

/** The file beside `modules/` listing the modules' names and kinds. */
const MANIFEST = "bundle.json";

/** Fetches a bundle answer (FunctionsClient.bundle). */
export type FetchBundle = (sha256: string) => Promise<unknown>;

export class BundleCache {
  private readonly dataDir: string;
  private readonly fetchBundle: FetchBundle;
  private readonly pending = new Map<string, Promise<CachedBundle>>();

  constructor(dataDir: string, fetchBundle: FetchBundle) {
    this.dataDir = dataDir;
    this.fetchBundle = fetchBundle;
  }

  /**
   * @returns the bundle's directory (its modules are in `modules/`, by name) and module list.
   * @throws when the bundle cannot be fetched, fails verification, or cannot be written.
   */
  get(sha256: string): Promise<CachedBundle> {
    if (!/^[0-9a-f]{64}$/.test(sha256)) return Promise.reject(new Error(`bundle: not a SHA-256: ${sha256}`));
    let pending = this.pending.get(sha256);
    if (!pending) {
      pending = this.load(sha256).finally(() => this.pending.delete(sha256));
      this.pending.set(sha256, pending);
    }
    return pending;
  }

  private async load(sha256: string): Promise<CachedBundle> {
    const dir = join(this.dataDir, "bundles", sha256);
    const cached = await readManifest(dir);
    if (cached) return cached;
    const decoded = decodeBundleAnswer(await this.fetchBundle(sha256), sha256);
    const modules = decoded.map(({ name, type }) => ({ name, type }));
    const tmp = `${dir}.tmp-${randomBytes(4).toString("hex")}`;
    try {
      await mkdir(tmp, { recursive: true });
      await writeFile(join(tmp, MANIFEST), JSON.stringify({ modules }));
      for (const m of decoded) {
        const file = join(tmp, "modules", m.name);
        await mkdir(dirname(file), { recursive: true });
        await writeFile(file, m.content);
      }
      await mkdir(dirname(dir), { recursive: true });
      await rename(tmp, dir);
    } catch (err) {
      await rm(tmp, { recursive: true, force: true });
      // Another agent process with the same data dir may have won the rename.
      const won = await readManifest(dir);
      if (won) return won;
      throw err;
    }
    return { dir, modules };
  }
}

/** The cached bundle in `dir`, or null when there is none (the rename makes a present one complete). */
async function readManifest(dir: string): Promise<CachedBundle | null> {
  try {
    const { modules } = JSON.parse(await readFile(join(dir, MANIFEST), "utf8"));
    return { dir, modules };
  } catch {
    return null;
  }
}
