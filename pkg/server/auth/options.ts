export type KeyMaterial = string | Uint8Array;

export interface JwtAuthOptions {
  /** HMAC secrets (HS256/384/512); several allow rotation: a token verifies if any secret signed it. */
  secrets?: KeyMaterial | readonly KeyMaterial[];
  /** PEM public keys (SPKI `PUBLIC KEY` or X.509 `CERTIFICATE`) for RS*, PS*, ES* and EdDSA tokens. */
  publicKeys?: string | readonly string[];
  /** A JSON Web Key Set URL; keys are fetched and cached by jose's createRemoteJWKSet. */
  jwksUrl?: string | URL;
  /** Required `iss` (one of). */
  issuer?: string | readonly string[];
  /** Required `aud` (one of). */
  audience?: string | readonly string[];
  /** Leeway on `exp` and `nbf`. Default 5. */
  clockToleranceSec?: number;
  /** Accepted `alg` values; default: every algorithm the configured key sources can verify. */
  algorithms?: readonly string[];
  /** Refuse tokens without `exp` (they would never expire). Default true. */
  requireExp?: boolean;
  /**
   * Longest lifetime a token may have, in seconds: `exp - iat` (or `exp` - now without `iat`). Default
   * 30 days; `Infinity` sets no maximum.
   */
  maxTokenLifetimeSec?: number;
}

/** Default maximum token lifetime: long enough for service tokens, short of "forever". */
export const DEFAULT_MAX_TOKEN_LIFETIME_SEC = 30 * 24 * 60 * 60;

export const HMAC_ALGORITHMS: readonly string[] = ["HS256", "HS384", "HS512"];
export const PUBLIC_KEY_ALGORITHMS: readonly string[] = [
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "ES512",
  "EdDSA",
  "Ed25519",
];
/** RFC 7518 §3.2: an HMAC key at least as long as the hash output (HS256). */
export const MIN_SECRET_BYTES = 32;

export interface ResolvedJwtAuthOptions {
  secrets: Uint8Array[];
  publicKeys: string[];
  jwksUrl: URL | undefined;
  issuer: string[] | undefined;
  audience: string[] | undefined;
  clockToleranceSec: number;
  algorithms: string[];
  requireExp: boolean;
  maxTokenLifetimeSec: number;
}

const encoder = new TextEncoder();

const asList = <T>(value: T | readonly T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? [...(value as readonly T[])] : [value as T];

/** Turns a secret into key bytes (strings as UTF-8); TypeError when it is too short to be safe. */
export function secretBytes(secret: unknown, field = "secret"): Uint8Array {
  const bytes = typeof secret === "string" ? encoder.encode(secret) : secret;
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`${field} must be a string or a Uint8Array`);
  if (bytes.length < MIN_SECRET_BYTES) throw new TypeError(`${field} must be at least ${MIN_SECRET_BYTES} bytes`);
  return bytes;
}

function claimValues(value: unknown, field: string): string[] | undefined {
  if (value === undefined) return undefined;
  const values = asList(value);
  if (values.length === 0 || values.some((item) => typeof item !== "string" || item.length === 0)) {
    throw new TypeError(`${field} must be a non-empty string or a non-empty array of them`);
  }
  return values as string[];
}

function jwksUrlOf(value: unknown): URL | undefined {
  if (value === undefined) return undefined;
  let url: URL;
  try {
    if (typeof value !== "string" && !(value instanceof URL)) throw new TypeError("not a string");
    url = new URL(value);
  } catch {
    throw new TypeError("jwksUrl must be a valid URL");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new TypeError("jwksUrl must be an http(s) URL");
  return url;
}

/** Merges defaults and validates; every mistake is a TypeError naming the option. */
export function resolveJwtAuthOptions(options: JwtAuthOptions): ResolvedJwtAuthOptions {
  if (typeof options !== "object" || options === null) throw new TypeError("options must be an object");
  const secrets = asList(options.secrets).map((secret, index) => secretBytes(secret, `secrets[${index}]`));
  const publicKeys = asList(options.publicKeys);
  for (const [index, pem] of publicKeys.entries()) {
    if (typeof pem !== "string" || !/-----BEGIN (PUBLIC KEY|CERTIFICATE)-----/.test(pem)) {
      throw new TypeError(`publicKeys[${index}] must be a PEM "PUBLIC KEY" or "CERTIFICATE"`);
    }
  }
  const jwksUrl = jwksUrlOf(options.jwksUrl);
  if (secrets.length === 0 && publicKeys.length === 0 && jwksUrl === undefined) {
    throw new TypeError("a key source is required: secrets, publicKeys or jwksUrl");
  }
  const clockToleranceSec = options.clockToleranceSec ?? 5;
  if (typeof clockToleranceSec !== "number" || !Number.isFinite(clockToleranceSec) || clockToleranceSec < 0) {
    throw new TypeError("clockToleranceSec must be a finite number >= 0");
  }
  const usable = [
    ...(secrets.length > 0 ? HMAC_ALGORITHMS : []),
    ...(publicKeys.length > 0 || jwksUrl !== undefined ? PUBLIC_KEY_ALGORITHMS : []),
  ];
  const algorithms = options.algorithms === undefined ? usable : [...options.algorithms];
  if (algorithms.length === 0) throw new TypeError("algorithms must not be empty");
  for (const alg of algorithms) {
    if (!usable.includes(alg)) throw new TypeError(`algorithms: ${String(alg)} is not usable with the configured key sources`);
  }
  const requireExp = options.requireExp ?? true;
  if (typeof requireExp !== "boolean") throw new TypeError("requireExp must be a boolean");
  const maxTokenLifetimeSec = options.maxTokenLifetimeSec ?? DEFAULT_MAX_TOKEN_LIFETIME_SEC;
  if (typeof maxTokenLifetimeSec !== "number" || Number.isNaN(maxTokenLifetimeSec) || maxTokenLifetimeSec < 1) {
    throw new TypeError("maxTokenLifetimeSec must be a number >= 1 (Infinity: no maximum)");
  }
  return {
    requireExp,
    maxTokenLifetimeSec,
    secrets,
    publicKeys,
    jwksUrl,
    issuer: claimValues(options.issuer, "issuer"),
    audience: claimValues(options.audience, "audience"),
    clockToleranceSec,
    algorithms,
  };
}
