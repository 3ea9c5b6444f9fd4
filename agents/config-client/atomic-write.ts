/**
 * Writes a file so that a reader sees either the old content or the new one, never a part:
 * write a temporary file beside it, fsync it, rename it over the target (atomic on POSIX within
 * one file system), then fsync the directory so the rename survives a crash.
 */
import { randomBytes } from "node:crypto";
import { open, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/**
 * Replaces `path`'s content with `content` atomically. The temporary file is
 * `.<name>.<random>.tmp` in the same directory (removed when the write fails).
 * @throws the file system's error (ENOENT when the directory does not exist, EACCES, ENOSPC …).
 */
export async function writeFileAtomic(path: string, content: string | Uint8Array, mode = 0o644): Promise<void> {
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    const file = await open(temp, "w", mode);
    try {
      await file.writeFile(content);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
  const directory = await open(dir, "r");
  try {
    await directory.sync();
  } catch {
    // some file systems refuse fsync on a directory; the rename itself is already atomic
  } finally {
    await directory.close();
  }
}
