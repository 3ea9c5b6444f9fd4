/**
 * Publication of a compiled snapshot, under an advisory lock that serialises it across control
 * replicas: the stored snapshot with the highest version is compared with the new one, and a new
 * version is minted only when the new one covers more revisions than the stored one and its
 * content differs. So version order always follows coverage order, and replicas racing to build
 * the same change end with one version. A published (or re-covered) version is announced on
 * `sluice_snapshot` (`<version>:<coversRevision>`), delivered on commit.
 */
import { desc, eq, lt, sql } from "drizzle-orm";
import type { Database } from "../db/connect.ts";
import { snapshots } from "../db/schema.ts";
import { HEADER } from "./layout.ts";
import { sealSnapshot } from "./seal.ts";

/** How many past snapshots the table keeps (rollback and audit). */
export const KEEP_SNAPSHOTS = 100;

/** NOTIFY channel of published snapshots; payload `<version>:<coversRevision>`. */
export const SNAPSHOT_CHANNEL = "sluice_snapshot";

/** Advisory lock key serialising snapshot publication across replicas ("SLUICESN"). */
const PUBLISH_LOCK_KEY = "6002266176527618894";

export interface Candidate {
  /** writeSnapshot's output with version 0; sealed here once its version is known. */
  file: Uint8Array<ArrayBuffer>;
  contentHash: string;
  /** The last revision id the content includes. */
  coversRevision: number;
  privateKey: CryptoKey;
  /** True when this replica serves a snapshot already (false at start). */
  serving: boolean;
}

export interface Published {
  version: bigint;
  contentHash: string;
  coversRevision: number;
  body: Uint8Array;
  etag: string;
}

/**
 * @returns `built`: the newly minted snapshot; or `adopt`: the stored version to serve instead
 *   (another replica's, or ours re-covering a write that left the content unchanged, then with
 *   `coversRevision` raised).
 * @throws on database errors (nothing is stored then).
 */
export async function publishSnapshot(db: Database, c: Candidate): Promise<{ built?: Published; adopt?: bigint; coversRevision?: number }> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${PUBLISH_LOCK_KEY}::bigint)`);
    const [stored] = await tx
      .select({ version: snapshots.version, contentHash: snapshots.contentHash, coversRevision: snapshots.coversRevision })
      .from(snapshots)
      .orderBy(desc(snapshots.version))
      .limit(1);
    // Another replica published a snapshot covering at least as much: serve that one. On start
    // (nothing served yet) only when its content is ours: a new compiler must not serve old bytes.
    const sameContent = stored?.contentHash === c.contentHash;
    if (stored && stored.coversRevision >= c.coversRevision && (c.serving || sameContent)) return { adopt: stored.version };
    // Same content (e.g. a write that changes nothing routable): the stored version now covers it.
    if (stored && sameContent) {
      await tx.update(snapshots).set({ coversRevision: c.coversRevision }).where(eq(snapshots.version, stored.version));
      await tx.execute(sql`select pg_notify(${SNAPSHOT_CHANNEL}, ${`${stored.version}:${c.coversRevision}`})`);
      return { adopt: stored.version, coversRevision: c.coversRevision };
    }
    const seq = await tx.execute<{ version: string }>(sql`select nextval(pg_get_serial_sequence('snapshots', 'version'))::text as version`);
    const version = BigInt((seq as unknown as { rows: { version: string }[] }).rows[0]?.version ?? "0");
    new DataView(c.file.buffer).setBigUint64(HEADER.snapshotVersion, version, true);
    const sealed = await sealSnapshot(c.file, c.privateKey);
    await tx
      .insert(snapshots)
      .values({ version, contentHash: c.contentHash, size: sealed.file.length, body: sealed.file, coversRevision: c.coversRevision });
    await tx.delete(snapshots).where(lt(snapshots.version, version - BigInt(KEEP_SNAPSHOTS)));
    await tx.execute(sql`select pg_notify(${SNAPSHOT_CHANNEL}, ${`${version}:${c.coversRevision}`})`);
    return {
      built: {
        version,
        contentHash: c.contentHash,
        coversRevision: c.coversRevision,
        body: sealed.file,
        etag: etagOf(version, c.contentHash),
      },
    };
  });
}

/** The strong entity tag of a snapshot: version and the first 16 hex digits of its hash. */
export const etagOf = (version: bigint, contentHash: string) => `"v${version}-${contentHash.slice(0, 16)}"`;
