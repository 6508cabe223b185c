import { generateKeyPairSync, randomUUID } from "node:crypto";
import { readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createJwtAuthenticator } from "../../pkg/server/auth/index.js";
import { runVerb, startTestServer, type TestServer } from "./verbs-support.js";

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(async () => {
  await server?.close();
});

describe("streamkit token", () => {
  it("mints a token with the dev secret that the server accepts, with the scopes, subject and TTL asked for", async () => {
    const store = server.storeId;
    const minted = await runVerb(["token", "--scope", `streamkit::${store}`, "--ttl", "15m", "--subject", "alice", "--data-dir", server.dataDir]);
    expect(minted.stderr).toBe("");
    expect(minted.code).toBe(0);
    expect(minted.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    const token = minted.stdout.trim();
    const claims = decodeJwt(token);
    expect(claims).toMatchObject({ scope: `streamkit::${store}`, sub: "alice" });
    expect(claims.exp! - claims.iat!).toBe(15 * 60);

    const env = { STREAMKIT_URL: server.server.wsUrl, STREAMKIT_STORE_ID: store };
    const published = await runVerb(["publish", "orders", "o-1", "--token", token], { env, input: "hello\n" });
    expect(published.stderr).toBe("");
    expect(published.code).toBe(0);
    expect(JSON.parse(published.stdout)).toMatchObject({ published: 1, status: { lastSequence: 1 } });

    // The scope is what the server enforces: this token does not cover another store.
    const elsewhere = await runVerb(["spaces", "--token", token, "--store-id", randomUUID()], { env });
    expect(elsewhere.code).toBe(1);
    expect(elsewhere.stderr).toMatch(/permission_denied/);
  });

  it("a read scope is refused for writes", async () => {
    const minted = await runVerb(["token", "--scope", `streamkit::${server.storeId}:read`], { env: { STREAMKIT_DATA_DIR: server.dataDir } });
    expect(minted.code).toBe(0);
    const produced = await runVerb(["produce", "orders", "o-1", "--token", minted.stdout.trim()], {
      env: { STREAMKIT_URL: server.server.wsUrl, STREAMKIT_STORE_ID: server.storeId },
      input: "nope\n",
    });
    expect(produced.code).toBe(1);
    expect(produced.stderr).toMatch(/^streamkit produce: permission_denied: /m);
  });

  it("signs with a configured secret, issuer and audience, from flags, variables and the config file", async () => {
    const secret = "a-configured-secret-that-is-long-enough-for-hs256";
    const configFile = join(server.dataDir, "serve.json");
    await writeFile(configFile, JSON.stringify({ auth: { jwtAudience: "streamz" } }));
    const minted = await runVerb(["token", "--scope", "streamkit::*", "--ttl", "3600", "--config", configFile, "--jwt-issuer", "ops"], {
      env: { STREAMKIT_JWT_SECRET: secret },
    });
    expect(minted.stderr).toBe("");
    expect(minted.code).toBe(0);
    const verifier = createJwtAuthenticator({ secrets: [secret], issuer: "ops", audience: "streamz" });
    const { principal, expiresAt } = await verifier.authenticate(minted.stdout.trim());
    expect(principal.can(server.storeId, "write")).toBe(true);
    expect(expiresAt! - Date.now()).toBeGreaterThan(3500_000);
    // The dev secret was not what signed it.
    const devVerifier = createJwtAuthenticator({ secrets: [(await readFile(join(server.dataDir, "jwt-secret"), "utf8")).trim()] });
    await expect(devVerifier.authenticate(minted.stdout.trim())).rejects.toMatchObject({ kind: "unauthenticated" });
  });

  it("generates the dev secret, as serve would, when the data directory has none", async () => {
    const dataDir = join(server.dataDir, "fresh");
    const minted = await runVerb(["token", "--scope", "streamkit::*", "--data-dir", dataDir]);
    expect(minted.code).toBe(0);
    expect(minted.stderr).toMatch(/generated a dev secret in .*fresh\/jwt-secret/);
    expect((await stat(join(dataDir, "jwt-secret"))).mode & 0o777).toBe(0o600);
    const secret = (await readFile(join(dataDir, "jwt-secret"), "utf8")).trim();
    await createJwtAuthenticator({ secrets: [secret] }).authenticate(minted.stdout.trim());
  });

  it("refuses when only a public key or a JWKS URL is configured: it cannot sign", async () => {
    const { publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const pemFile = join(server.dataDir, "public.pem");
    await writeFile(pemFile, publicKey.export({ type: "spki", format: "pem" }));
    const withKey = await runVerb(["token", "--scope", "streamkit::*", "--jwt-public-key-file", pemFile]);
    expect(withKey.code).toBe(2);
    expect(withKey.stdout).toBe("");
    expect(withKey.stderr).toMatch(/cannot sign tokens: .*public key/);
    const withJwks = await runVerb(["token", "--scope", "streamkit::*"], { env: { STREAMKIT_JWKS_URL: "https://issuer.invalid/jwks.json" } });
    expect(withJwks.code).toBe(2);
    expect(withJwks.stderr).toMatch(/cannot sign tokens: .*JWKS/);
  });

  it("names what is wrong with its arguments (exit 2)", async () => {
    const cases: [string[], RegExp][] = [
      [[], /give at least one --scope/],
      [["--scope", "streamkit::*", "--ttl", "soon"], /--ttl: must be a duration/],
      [["--scope", "streamkit::*", "--ttl", "0"], /--ttl: must be a duration/],
      [["--scope"], /argument missing/],
      [["--scope", "streamkit::*", "--color"], /Unknown option '--color'/],
      [["--scope", "streamkit::*", "extra"], /unexpected argument "extra"/],
      [["--scope", "streamkit::*", "--jwt-secret", "short"], /auth.jwtSecret: must be at least 32 bytes long \(from --jwt-secret\)/],
    ];
    const results = await Promise.all(cases.map(([args]) => runVerb(["token", "--data-dir", server.dataDir, ...args])));
    results.forEach((result, index) => {
      expect(result.code, cases[index]![0].join(" ")).toBe(2);
      expect(result.stdout).toBe("");
      expect(result.stderr).toMatch(cases[index]![1]);
    });
  });
});
