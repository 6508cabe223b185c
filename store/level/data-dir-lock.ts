import { ClassicLevel } from "classic-level";
import { join } from "node:path";

/** A held lock on a data directory; `release()` is idempotent. */
export interface DataDirLock {
  release(): Promise<void>;
}

/** Not a UUID, so it can never be taken for a store's database. */
const LOCK_DATABASE = ".streamkit-lock";

function lockHeld(error: unknown): boolean {
  const cause = (error as { cause?: { code?: unknown } } | undefined)?.cause;
  return (error as { code?: unknown } | undefined)?.code === "LEVEL_LOCKED" || cause?.code === "LEVEL_LOCKED";
}

/**
 * Claims `dataDir` for this process, so a second server on the same directory fails at start instead
 * of failing every call later. The claim is LevelDB's own lock on a small database in the directory:
 * an OS file lock, released by the operating system when the process dies, even by SIGKILL, so a
 * crash never leaves a stale claim behind (docs/deployment.md).
 */
export async function lockDataDir(dataDir: string): Promise<DataDirLock> {
  const db = new ClassicLevel(join(dataDir, LOCK_DATABASE));
  try {
    await db.open();
  } catch (error) {
    if (lockHeld(error)) {
      throw new Error(`data directory ${dataDir} is in use by another process (another streamkit serve?); stop it or choose another --data-dir`, {
        cause: error,
      });
    }
    throw error;
  }
  let released: Promise<void> | undefined;
  return { release: () => (released ??= db.close()) };
}
