import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { signToken } from "../../server/auth/index.js";
import { type AuthConfig, loadConfig } from "../config/index.js";
import { DEV_SECRET_FILE, loadOrCreateDevSecret } from "../dev-secret.js";
import { UsageError } from "./args.js";
import type { FlagSpec } from "./args.js";

/** The serve settings that decide which key signs a token, by flag name. */
export const SIGNING_FLAGS = {
  config: { type: "string", value: "<file>", env: "STREAMKIT_CONFIG", description: "serve's JSON config file (its auth.* keys and dataDir)." },
  "data-dir": { type: "string", value: "<dir>", env: "STREAMKIT_DATA_DIR", description: "Data directory holding the dev secret (jwt-secret)." },
  "jwt-secret": { type: "string", value: "<secret>", env: "STREAMKIT_JWT_SECRET", description: "HMAC secret (at least 32 bytes)." },
  "jwt-secret-file": { type: "string", value: "<file>", env: "STREAMKIT_JWT_SECRET_FILE", description: "File holding the HMAC secret." },
  "jwt-public-key-file": { type: "string", value: "<file>", env: "STREAMKIT_JWT_PUBLIC_KEY_FILE", description: "Configured public key: it cannot sign, so this refuses." },
  "jwks-url": { type: "string", value: "<url>", env: "STREAMKIT_JWKS_URL", description: "Configured JWKS URL: it cannot sign, so this refuses." },
  "jwt-issuer": { type: "string", value: "<iss>", env: "STREAMKIT_JWT_ISSUER", description: "`iss` claim to write (the server requires it when set)." },
  "jwt-audience": { type: "string", value: "<aud>", env: "STREAMKIT_JWT_AUDIENCE", description: "`aud` claim to write (the server requires it when set)." },
} as const satisfies Record<string, FlagSpec>;

type SigningFlag = keyof typeof SIGNING_FLAGS;

/** Signing settings given on the command line; loadConfig reads their environment variables itself. */
export type SigningFlagValues = { readonly [K in SigningFlag]?: string | undefined };

/**
 * The signing flags given as flags, leaving out values taken from the environment, so loadConfig
 * names the variable, not a flag, in its problems.
 */
export function explicitSigningFlags(flags: SigningFlagValues, fromEnv: ReadonlySet<PropertyKey>): SigningFlagValues {
  const names = Object.keys(SIGNING_FLAGS) as SigningFlag[];
  return Object.fromEntries(names.filter((name) => !fromEnv.has(name)).map((name) => [name, flags[name]]));
}

/** An HMAC key and the claims the server checks, ready to sign with. */
export interface SigningKey {
  readonly secret: string;
  readonly issuer: string | undefined;
  readonly audience: string | undefined;
  /** Where the key came from, for messages. */
  readonly source: string;
  /** Set when this call generated the dev secret. */
  readonly created: boolean;
}

/** The serve configuration's auth part and data directory, from the sources serve reads. */
async function authConfig(flags: SigningFlagValues): Promise<{ auth: AuthConfig; dataDir: string }> {
  const names = Object.keys(SIGNING_FLAGS) as SigningFlag[];
  const argv = names.flatMap((flag) => (flags[flag] === undefined ? [] : [`--${flag}=${flags[flag]}`]));
  const { config } = await loadConfig({ argv, env: process.env });
  return { auth: config.auth, dataDir: config.dataDir };
}

async function readExistingDevSecret(dataDir: string): Promise<string | undefined> {
  const path = join(resolve(dataDir), DEV_SECRET_FILE);
  const text = await readFile(path, "utf8").catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return undefined;
    throw error;
  });
  return text?.trim();
}

/**
 * The key `streamkit serve` would verify with, when it can sign: the configured HMAC secret, else
 * the dev secret in the data directory (generated now when `createDevSecret`, as serve would). A
 * configured public key or JWKS URL cannot sign: UsageError. Undefined when there is no dev secret
 * and none may be created.
 */
export async function resolveSigningKey(flags: SigningFlagValues, createDevSecret: true): Promise<SigningKey>;
export async function resolveSigningKey(flags: SigningFlagValues, createDevSecret: false): Promise<SigningKey | undefined>;
export async function resolveSigningKey(flags: SigningFlagValues, createDevSecret: boolean): Promise<SigningKey | undefined> {
  const { auth, dataDir } = await authConfig(flags);
  const claims = { issuer: auth.jwtIssuer, audience: auth.jwtAudience };
  if (auth.jwtSecret !== undefined) return { ...claims, secret: auth.jwtSecret, source: "the configured jwtSecret", created: false };
  if (auth.jwtSecretFile !== undefined) {
    const secret = (await readFile(resolve(auth.jwtSecretFile), "utf8")).trim();
    return { ...claims, secret, source: resolve(auth.jwtSecretFile), created: false };
  }
  if (auth.jwtPublicKeyFile !== undefined || auth.jwksUrl !== undefined) {
    const configured = auth.jwtPublicKeyFile !== undefined ? "a public key (jwtPublicKeyFile)" : "a JWKS URL (jwksUrl)";
    throw new UsageError(`cannot sign tokens: the server verifies with ${configured}; tokens come from whoever holds the private key`);
  }
  const source = join(resolve(dataDir), DEV_SECRET_FILE);
  if (createDevSecret) {
    const dev = await loadOrCreateDevSecret(resolve(dataDir));
    return { ...claims, secret: dev.secret, source: dev.path, created: dev.created };
  }
  const secret = await readExistingDevSecret(dataDir);
  return secret === undefined ? undefined : { ...claims, secret, source, created: false };
}

/** A token signed with `key`. */
export function mintToken(key: SigningKey, options: { scopes: readonly string[]; ttlSec: number; subject?: string }): Promise<string> {
  return signToken({ secret: key.secret, issuer: key.issuer, audience: key.audience, ...options });
}
