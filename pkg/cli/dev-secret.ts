import { randomBytes } from "node:crypto";
import { link, mkdir, readFile, stat, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { StreamsError } from "../api/index.js";
import { MIN_SECRET_BYTES } from "./config/checks.js";

export const DEV_SECRET_FILE = "jwt-secret";

export interface DevSecret {
  /** The HMAC secret: the file's text, trimmed. */
  readonly secret: string;
  readonly path: string;
  /** True when this call generated it. */
  readonly created: boolean;
  /** True when group or others may read the file (someone loosened its mode). */
  readonly exposed: boolean;
}

/**
 * The HMAC secret kept in `<dataDir>/jwt-secret` (mode 0600), generated on first use. The file
 * appears whole or not at all (written aside, then linked), so a crash never leaves a short secret.
 */
export async function loadOrCreateDevSecret(dataDir: string): Promise<DevSecret> {
  const path = join(dataDir, DEV_SECRET_FILE);
  await mkdir(dataDir, { recursive: true });
  let created = false;
  const existing = await readFile(path, "utf8").catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return undefined;
    throw error;
  });
  if (existing === undefined) created = await writeAtomically(path, randomBytes(32).toString("base64url"));
  const secret = existing?.trim() ?? (await readFile(path, "utf8")).trim();
  if (Buffer.byteLength(secret) < MIN_SECRET_BYTES) {
    throw new StreamsError("invalid_argument", `${path} holds a secret shorter than ${MIN_SECRET_BYTES} bytes; delete it to get a new one`);
  }
  const { mode } = await stat(path);
  return { secret, path, created, exposed: (mode & 0o077) !== 0 };
}

/** Returns false when another process created the file first (its secret is then the one to use). */
async function writeAtomically(path: string, content: string): Promise<boolean> {
  const aside = `${path}.${process.pid}.tmp`;
  await writeFile(aside, `${content}\n`, { mode: 0o600, flag: "wx", flush: true });
  try {
    await link(aside, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw error;
  } finally {
    await unlink(aside);
  }
}
