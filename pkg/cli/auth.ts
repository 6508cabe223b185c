import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { type Authenticator, createJwtAuthenticator, type JwtAuthOptions, signToken } from "../server/auth/index.js";
import type { Logger } from "../api/logger.js";
import type { AuthConfig } from "./config/index.js";
import { loadOrCreateDevSecret } from "./dev-secret.js";

export const DEV_TOKEN_SCOPE = "streamkit::*";
export const DEV_TOKEN_TTL_SEC = 24 * 60 * 60;

export interface ServerAuth {
  readonly authenticator: Authenticator;
  /** A token for every store, valid 24 h; only when no key was configured and a dev secret is in use. */
  readonly devToken: string | undefined;
}

const hasKey = (auth: AuthConfig): boolean =>
  [auth.jwtSecret, auth.jwtSecretFile, auth.jwtPublicKeyFile, auth.jwksUrl].some((value) => value !== undefined);

/**
 * The authenticator the config describes. With no key configured, an HMAC secret generated on first
 * start and kept in `<dataDir>/jwt-secret` signs a dev token.
 */
export async function createServerAuth(auth: AuthConfig, dataDir: string, logger: Logger): Promise<ServerAuth> {
  const claims = { issuer: auth.jwtIssuer, audience: auth.jwtAudience };
  const base: JwtAuthOptions = { ...claims, clockToleranceSec: auth.clockToleranceSec };
  if (hasKey(auth)) {
    // Configured keys sign real users' tokens: by default they must expire, within the maximum.
    base.requireExp = auth.requireExp !== false;
    base.maxTokenLifetimeSec = auth.maxTokenLifetimeSec === 0 ? Number.POSITIVE_INFINITY : auth.maxTokenLifetimeSec;
    const secretFromFile = auth.jwtSecretFile === undefined ? undefined : (await readFile(resolve(auth.jwtSecretFile), "utf8")).trim();
    const secret = auth.jwtSecret ?? secretFromFile;
    const publicKey = auth.jwtPublicKeyFile === undefined ? undefined : await readFile(resolve(auth.jwtPublicKeyFile), "utf8");
    const authenticator = createJwtAuthenticator({
      ...base,
      secrets: secret === undefined ? undefined : [secret],
      publicKeys: publicKey === undefined ? undefined : [publicKey],
      jwksUrl: auth.jwksUrl,
    });
    return { authenticator, devToken: undefined };
  }
  const dev = await loadOrCreateDevSecret(resolve(dataDir));
  if (dev.created) logger.info({ path: dev.path }, "no JWT key configured: generated an HMAC secret");
  else logger.info({ path: dev.path }, "no JWT key configured: using the HMAC secret kept in the data directory");
  if (dev.exposed) logger.warn({ path: dev.path }, "the JWT secret file is readable by group or others; chmod 600 it");
  const devToken = await signToken({ ...claims, secret: dev.secret, scopes: [DEV_TOKEN_SCOPE], subject: "dev", ttlSec: DEV_TOKEN_TTL_SEC });
  // The dev secret is for one machine: no lifetime rules unless asked for.
  const devRules: JwtAuthOptions = { requireExp: auth.requireExp === true, maxTokenLifetimeSec: Number.POSITIVE_INFINITY };
  return { authenticator: createJwtAuthenticator({ ...base, ...devRules, secrets: [dev.secret] }), devToken };
}
