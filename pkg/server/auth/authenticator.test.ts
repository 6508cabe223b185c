import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, UnsecuredJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StreamsError } from "../../api/index.js";
import { createJwtAuthenticator, signToken } from "./index.js";

const STORE = "6f1c1f0e-7a43-4c1e-9f55-0a2a3c6b1d01";
const SECRET = "a-test-secret-that-is-long-enough-for-hs256";
const OTHER_SECRET = "another-test-secret-long-enough-for-hs256!!";
const encoder = new TextEncoder();
const nowSec = () => Math.floor(Date.now() / 1000);

async function refusal(promise: Promise<unknown>): Promise<StreamsError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(StreamsError);
  expect((error as StreamsError).kind).toBe("unauthenticated");
  return error as StreamsError;
}

const hmacToken = (claims: Record<string, unknown>, secret = SECRET) =>
  new SignJWT(claims).setProtectedHeader({ alg: "HS256" }).sign(encoder.encode(secret));

describe("createJwtAuthenticator options", () => {
  it("needs a key source", () => {
    expect(() => createJwtAuthenticator({})).toThrow(/key source/);
    expect(() => createJwtAuthenticator({ secrets: [] })).toThrow(TypeError);
  });

  it("refuses short secrets, bad PEM, bad URLs, bad tolerance and unusable algorithms", () => {
    expect(() => createJwtAuthenticator({ secrets: "short" })).toThrow(/at least 32 bytes/);
    expect(() => createJwtAuthenticator({ publicKeys: ["not a pem"] })).toThrow(/PEM/);
    expect(() => createJwtAuthenticator({ jwksUrl: "ftp://example.com/jwks" })).toThrow(/http/);
    expect(() => createJwtAuthenticator({ jwksUrl: "not a url" })).toThrow(/valid URL/);
    expect(() => createJwtAuthenticator({ secrets: SECRET, clockToleranceSec: -1 })).toThrow(/clockToleranceSec/);
    expect(() => createJwtAuthenticator({ secrets: SECRET, algorithms: ["none"] })).toThrow(/none/);
    expect(() => createJwtAuthenticator({ secrets: SECRET, algorithms: ["RS256"] })).toThrow(/RS256/);
    expect(() => createJwtAuthenticator({ secrets: SECRET, algorithms: [] })).toThrow(/empty/);
    expect(() => createJwtAuthenticator({ secrets: SECRET, issuer: [] })).toThrow(/issuer/);
  });

  it("keeps defaults for options given as undefined and reports its clock tolerance", () => {
    const authenticator = createJwtAuthenticator({ secrets: [SECRET], publicKeys: undefined, jwksUrl: undefined, issuer: undefined });
    expect(authenticator.clockToleranceSec).toBe(5);
  });
});

describe("HMAC tokens", () => {
  const authenticator = createJwtAuthenticator({ secrets: [SECRET], issuer: "streamkit-test", audience: "streamz" });
  const sign = (options: Partial<Parameters<typeof signToken>[0]> = {}) =>
    signToken({ secret: SECRET, scopes: [`streamkit::${STORE}`], ttlSec: 60, issuer: "streamkit-test", audience: "streamz", ...options });

  it("accepts a valid token and builds its principal", async () => {
    const before = Date.now();
    const { principal, expiresAt } = await authenticator.authenticate(await sign({ subject: "alice" }));
    expect(principal.subject).toBe("alice");
    expect(principal.admin).toBe(false);
    expect(principal.can(STORE, "write")).toBe(true);
    expect(principal.can(STORE.toUpperCase(), "read")).toBe(true);
    expect(principal.can("00000000-0000-4000-8000-000000000000", "read")).toBe(false);
    expect(expiresAt).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 59_000);
    expect(expiresAt).toBeLessThanOrEqual(before + 61_000);
  });

  it("verifies with any of several secrets (rotation)", async () => {
    const rotating = createJwtAuthenticator({ secrets: [OTHER_SECRET, SECRET] });
    const old = await signToken({ secret: SECRET, scopes: ["streamkit::*"], ttlSec: 60 });
    const fresh = await signToken({ secret: OTHER_SECRET, scopes: ["streamkit::*"], ttlSec: 60 });
    expect((await rotating.authenticate(old)).principal.can(STORE, "write")).toBe(true);
    expect((await rotating.authenticate(fresh)).principal.can(STORE, "write")).toBe(true);
  });

  it("refuses each bad token with a clear reason", async () => {
    const claims = { iss: "streamkit-test", aud: "streamz", scope: "streamkit::*" };
    expect((await refusal(authenticator.authenticate(await hmacToken({ ...claims, exp: nowSec() - 60 })))).message).toBe("token expired");
    expect((await refusal(authenticator.authenticate(await hmacToken({ ...claims, nbf: nowSec() + 60 })))).message).toBe(
      "token not yet valid",
    );
    expect((await refusal(authenticator.authenticate(await sign({ issuer: "someone-else" })))).message).toBe("wrong issuer");
    expect((await refusal(authenticator.authenticate(await sign({ audience: "elsewhere" })))).message).toBe("wrong audience");
    expect((await refusal(authenticator.authenticate(await sign({ secret: OTHER_SECRET })))).message).toBe("invalid signature");
    expect((await refusal(authenticator.authenticate("garbage"))).message).toBe("malformed token");
    expect((await refusal(authenticator.authenticate("a.b.c"))).message).toBe("malformed token");
    expect((await refusal(authenticator.authenticate(""))).message).toBe("missing token");
    expect((await refusal(authenticator.authenticate("x".repeat(70_000)))).message).toBe("token too large");
  });

  it("refuses a tampered payload", async () => {
    const [header, , signature] = (await sign()).split(".");
    const forged = Buffer.from(JSON.stringify({ scope: "streamkit::* streamkit::admin", exp: nowSec() + 3600 })).toString("base64url");
    expect((await refusal(authenticator.authenticate(`${header}.${forged}.${signature}`))).message).toBe("invalid signature");
  });

  it("never accepts alg none", async () => {
    const unsecured = new UnsecuredJWT({ scope: "streamkit::*", iss: "streamkit-test", aud: "streamz" }).setExpirationTime("1h").encode();
    expect((await refusal(authenticator.authenticate(unsecured))).message).toMatch(/algorithm "none" not allowed/);
    const [, payload] = unsecured.split(".");
    const noneWithSignature = `${Buffer.from(JSON.stringify({ alg: "none" })).toString("base64url")}.${payload}.c2ln`;
    expect((await refusal(authenticator.authenticate(noneWithSignature))).message).toMatch(/not allowed/);
  });

  it("applies the clock tolerance to exp and nbf", async () => {
    const lenient = createJwtAuthenticator({ secrets: SECRET, clockToleranceSec: 30 });
    const strict = createJwtAuthenticator({ secrets: SECRET, clockToleranceSec: 0 });
    const justExpired = await hmacToken({ exp: nowSec() - 10 });
    const almostValid = await hmacToken({ nbf: nowSec() + 10, exp: nowSec() + 60 });
    await expect(lenient.authenticate(justExpired)).resolves.toBeDefined();
    await expect(lenient.authenticate(almostValid)).resolves.toBeDefined();
    expect((await refusal(strict.authenticate(justExpired))).message).toBe("token expired");
    expect((await refusal(strict.authenticate(almostValid))).message).toBe("token not yet valid");
  });

  it("accepts a token without exp, with no expiry, when requireExp is off", async () => {
    const plain = createJwtAuthenticator({ secrets: SECRET, requireExp: false });
    const result = await plain.authenticate(await hmacToken({ scp: ["streamkit::*:read"] }));
    expect(result.expiresAt).toBeUndefined();
    expect(result.principal.can(STORE, "read")).toBe(true);
    expect(result.principal.can(STORE, "write")).toBe(false);
  });

  it("refuses a token without exp by default: it would never expire (issue 11)", async () => {
    const byDefault = createJwtAuthenticator({ secrets: SECRET });
    expect((await refusal(byDefault.authenticate(await hmacToken({ scope: "streamkit::*" })))).message).toBe("token has no expiry (exp)");
    expect((await refusal(byDefault.authenticate(await hmacToken({ scope: "streamkit::*", iat: nowSec() })))).message).toBe("token has no expiry (exp)");
  });

  it("refuses a token living longer than maxTokenLifetimeSec (30 days by default), from iat or else from now", async () => {
    const day = 24 * 60 * 60;
    const byDefault = createJwtAuthenticator({ secrets: SECRET, clockToleranceSec: 0 });
    const iat = nowSec();
    await expect(byDefault.authenticate(await hmacToken({ iat, exp: iat + 30 * day }))).resolves.toBeDefined();
    expect((await refusal(byDefault.authenticate(await hmacToken({ iat, exp: iat + 30 * day + 1 })))).message).toBe(
      "token lifetime over the maximum of 2592000 s",
    );
    expect((await refusal(byDefault.authenticate(await hmacToken({ exp: iat + 31 * day })))).message).toMatch(/lifetime over the maximum/);
    const hourly = createJwtAuthenticator({ secrets: SECRET, maxTokenLifetimeSec: 3600 });
    // An old iat counts: the token was issued for a year, whatever is left of it.
    expect((await refusal(hourly.authenticate(await hmacToken({ iat: iat - 365 * day, exp: iat + 60 })))).message).toMatch(/lifetime/);
    await expect(hourly.authenticate(await hmacToken({ iat, exp: iat + 3600 }))).resolves.toBeDefined();
    const unbounded = createJwtAuthenticator({ secrets: SECRET, maxTokenLifetimeSec: Number.POSITIVE_INFINITY });
    await expect(unbounded.authenticate(await hmacToken({ iat, exp: iat + 10 * 365 * day }))).resolves.toBeDefined();
  });

  it("refuses a wrong requireExp or maxTokenLifetimeSec", () => {
    expect(() => createJwtAuthenticator({ secrets: SECRET, requireExp: "yes" as unknown as boolean })).toThrow(/requireExp/);
    for (const maxTokenLifetimeSec of [0, -1, Number.NaN]) {
      expect(() => createJwtAuthenticator({ secrets: SECRET, maxTokenLifetimeSec })).toThrow(/maxTokenLifetimeSec/);
    }
  });

  it("restricts algorithms to the configured list", async () => {
    const only512 = createJwtAuthenticator({ secrets: SECRET, algorithms: ["HS512"] });
    expect((await refusal(only512.authenticate(await hmacToken({ scope: "streamkit::*" })))).message).toMatch(/"HS256" not allowed/);
  });
});

describe("public keys", () => {
  it.each(["RS256", "PS384", "ES256", "EdDSA"])("verifies %s tokens with a PEM key", async (alg) => {
    const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
    const authenticator = createJwtAuthenticator({ publicKeys: [await exportSPKI(publicKey)] });
    const token = await new SignJWT({ scope: `streamkit::${STORE}:read`, sub: "svc" }).setProtectedHeader({ alg }).setExpirationTime("5m").sign(privateKey);
    const { principal } = await authenticator.authenticate(token);
    expect(principal.subject).toBe("svc");
    expect(principal.can(STORE, "read")).toBe(true);
    expect(principal.can(STORE, "write")).toBe(false);
  });

  it("tries every PEM key (rotation) and refuses a token from an unknown key", async () => {
    const current = await generateKeyPair("ES256", { extractable: true });
    const previous = await generateKeyPair("RS256", { extractable: true });
    const stranger = await generateKeyPair("ES256", { extractable: true });
    const authenticator = createJwtAuthenticator({ publicKeys: [await exportSPKI(previous.publicKey), await exportSPKI(current.publicKey)] });
    const byCurrent = await new SignJWT({ scope: "streamkit::*" }).setProtectedHeader({ alg: "ES256" }).setExpirationTime("1h").sign(current.privateKey);
    const byPrevious = await new SignJWT({ scope: "streamkit::*" }).setProtectedHeader({ alg: "RS256" }).setExpirationTime("1h").sign(previous.privateKey);
    const byStranger = await new SignJWT({ scope: "streamkit::*" }).setProtectedHeader({ alg: "ES256" }).setExpirationTime("1h").sign(stranger.privateKey);
    await expect(authenticator.authenticate(byCurrent)).resolves.toBeDefined();
    await expect(authenticator.authenticate(byPrevious)).resolves.toBeDefined();
    expect((await refusal(authenticator.authenticate(byStranger))).message).toBe("invalid signature");
  });

  it("refuses an HMAC token signed with the public key as secret (algorithm confusion)", async () => {
    const { publicKey } = await generateKeyPair("RS256", { extractable: true });
    const pem = await exportSPKI(publicKey);
    const authenticator = createJwtAuthenticator({ publicKeys: [pem] });
    const confused = await new SignJWT({ scope: "streamkit::*" }).setProtectedHeader({ alg: "HS256" }).sign(encoder.encode(pem));
    expect((await refusal(authenticator.authenticate(confused))).message).toMatch(/"HS256" not allowed/);
  });

  it("refuses a token whose algorithm no configured key fits", async () => {
    const { publicKey } = await generateKeyPair("RS256", { extractable: true });
    const ec = await generateKeyPair("ES256", { extractable: true });
    const authenticator = createJwtAuthenticator({ publicKeys: [await exportSPKI(publicKey)] });
    const token = await new SignJWT({}).setProtectedHeader({ alg: "ES256" }).sign(ec.privateKey);
    expect((await refusal(authenticator.authenticate(token))).message).toBe("no configured key verifies ES256 tokens");
  });
});

describe("JWKS URL", () => {
  let server: Server;
  let url: string;
  let signing: Awaited<ReturnType<typeof generateKeyPair>>;

  beforeAll(async () => {
    signing = await generateKeyPair("RS256", { extractable: true });
    const jwk = { ...(await exportJWK(signing.publicKey)), kid: "k1", alg: "RS256", use: "sig" };
    server = createServer((_request, response) => {
      response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it("verifies tokens with keys fetched from the set", async () => {
    const authenticator = createJwtAuthenticator({ jwksUrl: url, audience: "streamz" });
    const token = await new SignJWT({ scope: "streamkit::admin" })
      .setProtectedHeader({ alg: "RS256", kid: "k1" })
      .setAudience("streamz")
      .setExpirationTime("5m")
      .sign(signing.privateKey);
    const { principal } = await authenticator.authenticate(token);
    expect(principal.admin).toBe(true);
    expect(principal.can(STORE, "read")).toBe(false);
  });

  it("refuses a token signed by a key not in the set", async () => {
    const authenticator = createJwtAuthenticator({ jwksUrl: url });
    const other = await generateKeyPair("RS256");
    const token = await new SignJWT({}).setProtectedHeader({ alg: "RS256", kid: "k2" }).sign(other.privateKey);
    expect((await refusal(authenticator.authenticate(token))).message).toBe("invalid signature");
  });
});

describe("signToken", () => {
  it("validates its options", async () => {
    await expect(signToken({ secret: "short", scopes: [], ttlSec: 60 })).rejects.toThrow(TypeError);
    await expect(signToken({ secret: SECRET, scopes: ["a b"], ttlSec: 60 })).rejects.toThrow(/whitespace/);
    await expect(signToken({ secret: SECRET, scopes: [], ttlSec: 0 })).rejects.toThrow(/ttlSec/);
    await expect(signToken({ secret: SECRET, scopes: [], ttlSec: 1.5 })).rejects.toThrow(/ttlSec/);
  });

  it("writes scopes space-separated with an HS256 header", async () => {
    const token = await signToken({ secret: SECRET, scopes: ["streamkit::*:read", "streamkit::admin"], ttlSec: 60, subject: "dev" });
    const [header, payload] = token.split(".").slice(0, 2).map((part) => JSON.parse(Buffer.from(part, "base64url").toString()) as Record<string, unknown>);
    expect(header).toMatchObject({ alg: "HS256", typ: "JWT" });
    expect(payload).toMatchObject({ scope: "streamkit::*:read streamkit::admin", sub: "dev" });
    expect((payload!.exp as number) - (payload!.iat as number)).toBe(60);
  });
});
