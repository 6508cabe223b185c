export { createJwtAuthenticator } from "./authenticator.js";
export {
  HMAC_ALGORITHMS,
  type JwtAuthOptions,
  type KeyMaterial,
  MIN_SECRET_BYTES,
  PUBLIC_KEY_ALGORITHMS,
} from "./options.js";
export { ADMIN_SCOPE, principalFromScopes, scopesOf, withAnonymousScopes } from "./scopes.js";
export { type SignTokenOptions, signToken } from "./sign.js";
export type { Authenticator, AuthPrincipal, AuthResult } from "./types.js";
