import { type CryptoKey, createRemoteJWKSet, importSPKI, importX509, type JWTVerifyGetKey } from "jose";
import { HMAC_ALGORITHMS, type ResolvedJwtAuthOptions } from "./options.js";

export type VerificationKey = Uint8Array | CryptoKey | JWTVerifyGetKey;

/** The keys that may have signed a token with a given `alg`, in the order to try them. */
export interface KeyRing {
  candidates(alg: string): Promise<VerificationKey[]>;
}

/**
 * HMAC algorithms use only the secrets; the others use the PEM keys and then the JWKS. A PEM key is
 * imported per algorithm on first use: the import fails for an algorithm that does not fit the key's
 * type, so an RSA key never verifies an ES256 token and no public key is ever used as an HMAC secret.
 */
export function createKeyRing(options: ResolvedJwtAuthOptions): KeyRing {
  const imported = new Map<string, Promise<CryptoKey | undefined>>();
  const jwks = options.jwksUrl === undefined ? undefined : createRemoteJWKSet(options.jwksUrl);

  const importFor = (pem: string, index: number, alg: string): Promise<CryptoKey | undefined> => {
    const cacheKey = `${index}:${alg}`;
    let key = imported.get(cacheKey);
    if (key === undefined) {
      const load = pem.includes("-----BEGIN CERTIFICATE-----") ? importX509(pem, alg) : importSPKI(pem, alg);
      key = load.catch(() => undefined);
      imported.set(cacheKey, key);
    }
    return key;
  };

  return {
    async candidates(alg: string): Promise<VerificationKey[]> {
      if (HMAC_ALGORITHMS.includes(alg)) return options.secrets;
      const pemKeys = await Promise.all(options.publicKeys.map((pem, index) => importFor(pem, index, alg)));
      const keys: VerificationKey[] = pemKeys.filter((key): key is CryptoKey => key !== undefined);
      if (jwks !== undefined) keys.push(jwks);
      return keys;
    },
  };
}
