/**
 * The client's local cache (static stability: an instance starts and serves while control is
 * down). One JSON file per namespace, `<cacheDir>/<appkey>+<env>+<namespace>.json`, holding
 * `{namespace, release, format, hash, gray, content}`; written atomically (atomic-write.ts); on
 * load, a file whose content does not hash to its `hash` (SHA-256 hex), or that does not parse,
 * is ignored.
 */
import { createHash } from "node:crypto";
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "./atomic-write.ts";
import { CONFIG_FORMATS, type FetchedRelease } from "./wire.ts";

/** SHA-256 hex of `content` (UTF-8), as control computes a release's `hash`. */
export function contentHash(content: string): string {
  return createHash("sha256").update(content, "utf8").digest("hex");
}

/** The cache file of one namespace. */
export function cacheFilePath(cacheDir: string, appkey: string, env: string, namespace: string): string {
  return join(cacheDir, `${appkey}+${env}+${namespace}.json`);
}

/** Why a cache file was not used, for the log. */
export interface CacheRejection {
  namespace: string;
  reason: string;
}

/**
 * Reads the cached releases of `namespaces`; missing files are skipped silently, unusable ones
 * (bad JSON, wrong shape, hash mismatch, another namespace's file) are reported in `rejected`.
 */
export async function loadCache(
  cacheDir: string,
  appkey: string,
  env: string,
  namespaces: string[],
): Promise<{ releases: FetchedRelease[]; rejected: CacheRejection[] }> {
  const releases: FetchedRelease[] = [];
  const rejected: CacheRejection[] = [];
  for (const namespace of namespaces) {
    let text: string;
    try {
      text = await readFile(cacheFilePath(cacheDir, appkey, env, namespace), "utf8");
    } catch {
      continue;
    }
    const reason = (why: string) => rejected.push({ namespace, reason: why });
    let entry: Partial<FetchedRelease>;
    try {
      entry = JSON.parse(text);
    } catch {
      reason("not JSON");
      continue;
    }
    if (
      entry.namespace !== namespace ||
      typeof entry.release !== "number" ||
      typeof entry.content !== "string" ||
      typeof entry.hash !== "string" ||
      !CONFIG_FORMATS.includes(entry.format as never)
    ) {
      reason("not a cache entry of this namespace");
      continue;
    }
    if (contentHash(entry.content) !== entry.hash) {
      reason("content does not match its hash");
      continue;
    }
    releases.push({
      namespace,
      release: entry.release,
      format: entry.format as FetchedRelease["format"],
      hash: entry.hash,
      gray: typeof entry.gray === "number" ? entry.gray : null,
      content: entry.content,
    });
  }
  return { releases, rejected };
}

/** Writes one namespace's release to the cache atomically, creating the directory if needed. */
export async function storeCache(cacheDir: string, appkey: string, env: string, release: FetchedRelease): Promise<void> {
  await mkdir(cacheDir, { recursive: true });
  const { namespace, format, hash, gray, content } = release;
  const text = JSON.stringify({ namespace, release: release.release, format, hash, gray, content });
  await writeFileAtomic(cacheFilePath(cacheDir, appkey, env, namespace), text, 0o600);
}
