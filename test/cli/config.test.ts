import { generateKeyPairSync } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ConfigError, loadConfig, resolveConfig, SETTINGS } from "../../pkg/cli/index.js";
import { serveHelp } from "../../pkg/cli/help.js";

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "streamkit-config-"));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function writeJson(name: string, value: unknown): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, JSON.stringify(value));
  return path;
}

/** The problems a load reports; fails the test when it loads. */
async function problemsOf(loading: Promise<unknown>): Promise<readonly string[]> {
  const error = await loading.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ConfigError);
  const configError = error as ConfigError;
  expect(configError.kind).toBe("invalid_argument");
  expect(configError.message).toContain(configError.problems[0]);
  return configError.problems;
}

const load = (argv: string[], env: NodeJS.ProcessEnv = {}) => loadConfig({ argv, env });

describe("config sources and precedence", () => {
  it("has the documented defaults", async () => {
    const { config, sources } = await load([]);
    expect(config).toEqual({
      host: "127.0.0.1",
      port: 8080,
      unixSocket: undefined,
      dataDir: "./data",
      store: "level",
      levelLayout: "shared",
      bus: "memory",
      redisUrl: undefined,
      postgresUrl: undefined,
      postgresSchema: "streamkit",
      postgresPoolMax: 10,
      busDownReadiness: "degraded",
      busChannelPrefix: "streamkit:",
      logLevel: "info",
      logPretty: "auto",
      retention: undefined,
      auth: {
        jwtSecret: undefined,
        jwtSecretFile: undefined,
        jwtPublicKeyFile: undefined,
        jwksUrl: undefined,
        jwtIssuer: undefined,
        jwtAudience: undefined,
        anonymousScopes: undefined,
        clockToleranceSec: 5,
        requireExp: "auto",
        maxTokenLifetimeSec: 30 * 24 * 3600,
      },
      limits: {
        maxFrameBytes: 8 * 1024 * 1024,
        maxPayloadBytes: 6 * 1024 * 1024,
        liveWindowBytes: 8 * 1024 * 1024,
        maxStreamsPerConnection: 256,
        maxConnections: 10_000,
        pingIntervalMs: 30_000,
        maxSpacesPerConsume: 1_000,
        maxRecordsPerBatch: 10_000,
        maxMetadataEntries: 256,
        sendHighWaterMarkBytes: 1024 * 1024,
        maxUnsentBytes: 16 * 1024 * 1024,
        maxConnectionMemoryBytes: 64 * 1024 * 1024,
        headersTimeoutMs: 10_000,
        requestTimeoutMs: 30_000,
        keepAliveTimeoutMs: 5_000,
        upgradeTimeoutMs: 10_000,
        idleTtlMs: 300_000,
        idleCheckIntervalMs: 60_000,
        retentionSweepIntervalMs: 60_000,
        maxProducers: 10_000,
        maxOpenStores: 0,
        shutdownTimeoutMs: 10_000,
      },
    });
    expect(sources.get("port")?.source).toBe("default");
  });

  it("ranks default < file < env < flag, key by key", async () => {
    const file = await writeJson("config.json", {
      port: 1001,
      logLevel: "warn",
      store: "memory",
      auth: { jwtIssuer: "from-file" },
      limits: { maxFrameBytes: 10_000_000, idleTtlMs: 0 },
    });
    const env = { STREAMKIT_PORT: "1002", STREAMKIT_LOG_LEVEL: "debug", STREAMKIT_MAX_FRAME_BYTES: "11000000" };
    const argv = ["--config", file, "--port", "1003", "--max-frame-bytes=12000000"];

    const all = await load(argv, env);
    expect(all.config.port).toBe(1003);
    expect(all.config.limits.maxFrameBytes).toBe(12_000_000);
    expect(all.config.logLevel).toBe("debug");
    expect(all.config.store).toBe("memory");
    expect(all.config.auth.jwtIssuer).toBe("from-file");
    expect(all.config.limits.idleTtlMs).toBe(0);
    expect(all.config.host).toBe("127.0.0.1");
    expect(all.sources.get("port")?.source).toBe("--port");
    expect(all.sources.get("logLevel")?.source).toBe("STREAMKIT_LOG_LEVEL");
    expect(all.sources.get("store")?.source).toBe(file);
    expect(all.sources.get("host")?.source).toBe("default");

    const withoutFlags = await load(["--config", file], env);
    expect(withoutFlags.config.port).toBe(1002);
    expect(withoutFlags.config.limits.maxFrameBytes).toBe(11_000_000);

    const fileOnly = await load(["--config", file]);
    expect(fileOnly.config.port).toBe(1001);
    expect(fileOnly.config.limits.maxFrameBytes).toBe(10_000_000);
    expect(fileOnly.config.logLevel).toBe("warn");
  });

  it("finds the file through STREAMKIT_CONFIG unless --config names another", async () => {
    const fromEnv = await writeJson("env.json", { port: 2001 });
    const fromFlag = await writeJson("flag.json", { port: 2002 });
    expect((await load([], { STREAMKIT_CONFIG: fromEnv })).config.port).toBe(2001);
    expect((await load(["--config", fromFlag], { STREAMKIT_CONFIG: fromEnv })).config.port).toBe(2002);
  });

  it("resolves a relative --config against the working directory", async () => {
    const file = await writeJson("relative.json", { port: 2003 });
    expect((await load(["--config", relative(process.cwd(), file)])).config.port).toBe(2003);
  });

  it("reads every key from its flag, its variable and its JSON key", async () => {
    const secretFile = join(dir, "secret");
    await writeFile(secretFile, "k".repeat(32));
    const publicKeyFile = join(dir, "public.pem");
    const { publicKey } = generateKeyPairSync("ed25519");
    await writeFile(publicKeyFile, publicKey.export({ type: "spki", format: "pem" }));
    const samples: Record<string, [text: string, value: unknown]> = {
      host: ["0.0.0.0", "0.0.0.0"],
      port: ["9000", 9000],
      unixSocket: [join(dir, "s.sock"), join(dir, "s.sock")],
      dataDir: [join(dir, "data"), join(dir, "data")],
      store: ["memory", "memory"],
      levelLayout: ["per-store", "per-store"],
      bus: ["redis", "redis"],
      redisUrl: ["redis://127.0.0.1:6390", "redis://127.0.0.1:6390"],
      postgresUrl: ["postgres://u@127.0.0.1:5439/db", "postgres://u@127.0.0.1:5439/db"],
      postgresSchema: ["tenant_a", "tenant_a"],
      postgresPoolMax: ["4", 4],
      busDownReadiness: ["not_ready", "not_ready"],
      busChannelPrefix: ["blue:", "blue:"],
      logLevel: ["trace", "trace"],
      logPretty: ["true", true],
      retention: ['{"events":{"maxAgeMs":60000,"maxEntriesPerSegment":0}}', { events: { maxAgeMs: 60_000 } }],
      "auth.jwtSecret": ["s".repeat(32), "s".repeat(32)],
      "auth.jwtSecretFile": [secretFile, secretFile],
      "auth.jwtPublicKeyFile": [publicKeyFile, publicKeyFile],
      "auth.jwksUrl": ["https://auth.example/jwks", "https://auth.example/jwks"],
      "auth.jwtIssuer": ["issuer", "issuer"],
      "auth.jwtAudience": ["audience", "audience"],
      "auth.anonymousScopes": ["streamkit::*", "streamkit::*"],
      "auth.clockToleranceSec": ["7", 7],
      "auth.requireExp": ["false", false],
      "auth.maxTokenLifetimeSec": ["0", 0],
      "limits.maxFrameBytes": ["9000000", 9_000_000],
      "limits.maxPayloadBytes": ["1000", 1000],
      "limits.liveWindowBytes": ["65536", 65536],
      "limits.maxStreamsPerConnection": ["12", 12],
      "limits.maxConnections": ["34", 34],
      "limits.pingIntervalMs": ["5000", 5000],
      "limits.maxSpacesPerConsume": ["10", 10],
      "limits.maxRecordsPerBatch": ["20", 20],
      "limits.maxMetadataEntries": ["30", 30],
      "limits.sendHighWaterMarkBytes": ["2000000", 2_000_000],
      "limits.maxUnsentBytes": ["20000000", 20_000_000],
      "limits.maxConnectionMemoryBytes": ["3000000", 3_000_000],
      "limits.headersTimeoutMs": ["5000", 5000],
      "limits.requestTimeoutMs": ["20000", 20_000],
      "limits.keepAliveTimeoutMs": ["4000", 4000],
      "limits.upgradeTimeoutMs": ["6000", 6000],
      "limits.idleTtlMs": ["1000", 1000],
      "limits.idleCheckIntervalMs": ["500", 500],
      "limits.retentionSweepIntervalMs": ["30000", 30_000],
      "limits.maxOpenStores": ["64", 64],
      "limits.maxProducers": ["500", 500],
      "limits.shutdownTimeoutMs": ["2500", 2500],
    };
    expect(Object.keys(samples)).toEqual(SETTINGS.map(({ path }) => path));
    const valueAt = (config: object, path: string): unknown =>
      path.split(".").reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], config);
    // Keys that are only valid with a companion key set (bus: redis needs a redisUrl).
    const companions: Record<string, { flags: string[]; env: Record<string, string>; json: object }> = {
      bus: { flags: ["--redis-url", "redis://127.0.0.1:6390"], env: { STREAMKIT_REDIS_URL: "redis://127.0.0.1:6390" }, json: { redisUrl: "redis://127.0.0.1:6390" } },
    };
    for (const { path, flag, env } of SETTINGS) {
      const [text, value] = samples[path]!;
      const [group, key] = path.includes(".") ? path.split(".") : [undefined, path];
      const companion = companions[path] ?? { flags: [], env: {}, json: {} };
      const json = { ...companion.json, ...(group === undefined ? { [key]: value } : { [group]: { [key]: value } }) };
      expect(valueAt((await load([`--${flag}`, text, ...companion.flags])).config, path), flag).toEqual(value);
      expect(valueAt((await load([], { [env]: text, ...companion.env })).config, path), env).toEqual(value);
      expect(valueAt((await load(["--config", await writeJson("one.json", json)])).config, path), path).toEqual(value);
    }
  });

  it("treats empty variables as unset and warns about STREAMKIT_* variables it does not know", async () => {
    const { config, warnings } = await load([], { STREAMKIT_PORT: "", STREAMKIT_PROT: "1", OTHER: "x" });
    expect(config.port).toBe(8080);
    expect(warnings).toEqual(["STREAMKIT_PROT: not a setting of serve; ignored"]);
  });

  it("parses true/false/auto for logPretty from text and JSON", async () => {
    expect((await load(["--log-pretty", "true"])).config.logPretty).toBe(true);
    expect((await load([], { STREAMKIT_LOG_PRETTY: "false" })).config.logPretty).toBe(false);
    expect((await load(["--config", await writeJson("p.json", { logPretty: false })])).config.logPretty).toBe(false);
  });

  it("reads per-space retention defaults from the file, and refuses bad names and bounds", async () => {
    const file = await writeJson("retention.json", { retention: { audit: { maxAgeMs: 86_400_000 }, metrics: { maxEntriesPerSegment: 1000, maxBytesPerSegment: 0 } } });
    expect((await load(["--config", file])).config.retention).toEqual({ audit: { maxAgeMs: 86_400_000 }, metrics: { maxEntriesPerSegment: 1000 } });
    const problems = async (retention: unknown): Promise<readonly string[]> => problemsOf(load(["--config", await writeJson("bad.json", { retention })]));
    expect(await problems({ audit: { maxAgeMs: -1 } })).toEqual([expect.stringMatching(/^retention: .*audit\.maxAgeMs.* \(from .*bad\.json\)$/)]);
    expect(await problems({ audit: { maxAge: 1 } })).toEqual([expect.stringMatching(/^retention: .*audit\.maxAge.*not a retention field/)]);
    expect(await problems({ "": { maxAgeMs: 1 } })).toEqual([expect.stringMatching(/^retention: space "": /)]);
    expect(await problems([1])).toEqual([expect.stringMatching(/^retention: must be an object of space name/)]);
    expect(await problemsOf(load(["--retention", "{oops"]))).toEqual([expect.stringMatching(/^retention: must be .* in JSON, got "\{oops" \(from --retention\)$/)]);
  });

  it("takes the last of a repeated flag", async () => {
    expect((await load(["--port", "1", "--port", "2"])).config.port).toBe(2);
  });
});

describe("config validation", () => {
  it("names every invalid key at once, each with its source", async () => {
    const problems = await problemsOf(load(SETTINGS.map(({ flag }) => `--${flag}=`)));
    expect(problems).toHaveLength(SETTINGS.length);
    for (const [index, { path, flag }] of SETTINGS.entries()) {
      expect(problems[index]).toMatch(new RegExp(`^${path.replace(".", "\\.")}: must be .* \\(from --${flag}\\)$`));
    }
  });

  it("gives the message of each kind of bad value", async () => {
    const file = await writeJson("bad.json", {
      port: 1.5,
      host: "",
      logPretty: "yes",
      auth: { jwksUrl: "ftp://keys.example", clockToleranceSec: -1 },
      limits: { maxConnections: "10" },
    });
    const problems = await problemsOf(
      load(["--config", file, "--port", "70000", "--store", "sql", "--unix-socket", `/${"s".repeat(120)}`], {
        STREAMKIT_PORT: "abc",
        STREAMKIT_LOG_LEVEL: "loud",
        STREAMKIT_PING_INTERVAL_MS: "12ms",
      }),
    );
    expect(problems).toEqual([
      `port: must be an integer 0-65535, got 1.5 (from ${file})`,
      `host: must be a non-empty string, got "" (from ${file})`,
      `logPretty: must be true, false or auto, got "yes" (from ${file})`,
      `auth.jwksUrl: must be an http(s) URL, got "ftp://keys.example" (from ${file})`,
      `auth.clockToleranceSec: must be an integer 0-3600, got -1 (from ${file})`,
      `limits.maxConnections: must be an integer 1-10000000, got "10" (from ${file})`,
      `port: must be an integer 0-65535, got "abc" (from STREAMKIT_PORT)`,
      `logLevel: must be one of fatal, error, warn, info, debug, trace, silent, got "loud" (from STREAMKIT_LOG_LEVEL)`,
      `limits.pingIntervalMs: must be an integer 100-3600000, got "12ms" (from STREAMKIT_PING_INTERVAL_MS)`,
      `port: must be an integer 0-65535, got "70000" (from --port)`,
      `store: must be one of level, memory, postgres, got "sql" (from --store)`,
      `unixSocket: must be at most 107 bytes long (from --unix-socket)`,
    ]);
  });

  it("refuses unknown JSON keys, non-object groups, unknown flags, stray arguments and flags without a value", async () => {
    const file = await writeJson("unknown.json", { prot: 1, auth: { secret: "x" }, limits: 5, logging: {} });
    const problems = await problemsOf(load(["--config", file, "--prot", "1", "extra", "-x", "--host"]));
    expect(problems).toEqual([
      `prot: unknown key (from ${file})`,
      `auth.secret: unknown key (from ${file})`,
      `limits: must be an object (from ${file})`,
      `logging: unknown key (from ${file})`,
      "unknown flag --prot",
      'unexpected argument "1"',
      'unexpected argument "extra"',
      "unknown flag -x",
      "--host: needs a value",
    ]);
  });

  it("reports a missing file, invalid JSON and a file that is not an object", async () => {
    const missing = join(dir, "missing.json");
    expect(await problemsOf(load(["--config", missing]))).toEqual([
      expect.stringMatching(new RegExp(`^config: cannot read ${missing}: ENOENT.* \\(from --config\\)$`)),
    ]);
    const broken = join(dir, "broken.json");
    await writeFile(broken, "{ port: 1 }");
    expect(await problemsOf(load([], { STREAMKIT_CONFIG: broken }))).toEqual([
      expect.stringMatching(new RegExp(`^config: ${broken} is not valid JSON: `)),
    ]);
    const list = await writeJson("list.json", [1]);
    expect(await problemsOf(load(["--config", list]))).toEqual([`configuration: must be an object (from ${list})`]);
  });

  it("checks keys against each other", async () => {
    const secretFile = join(dir, "secret");
    await writeFile(secretFile, "s".repeat(40));
    const problems = await problemsOf(
      load(["--max-payload-bytes", "9000000", "--jwt-secret-file", secretFile], { STREAMKIT_JWT_SECRET: "short" }),
    );
    expect(problems).toEqual([
      "limits.maxPayloadBytes: must be below limits.maxFrameBytes (8388608, from default) (from --max-payload-bytes)",
      "auth.jwtSecret: set either it or auth.jwtSecretFile (from --jwt-secret-file), not both (from STREAMKIT_JWT_SECRET)",
      "auth.jwtSecret: must be at least 32 bytes long (from STREAMKIT_JWT_SECRET)",
    ]);
    expect(problems.join("\n")).not.toContain("short");
    expect(await problemsOf(load(["--store", "postgres", "--bus", "postgres"]))).toEqual([
      "postgresUrl: must be set when store is postgres (store from --store) (from default)",
    ]);
  });

  it("checks the timeouts and send bounds against each other", async () => {
    const problems = await problemsOf(load(["--headers-timeout-ms", "40000", "--max-unsent-bytes", "9000000"]));
    expect(problems).toEqual([
      "limits.requestTimeoutMs: must be at least limits.headersTimeoutMs (40000, from --headers-timeout-ms) (from default)",
      "limits.maxUnsentBytes: must be at least limits.sendHighWaterMarkBytes + limits.maxFrameBytes (9437184) (from --max-unsent-bytes)",
    ]);
  });

  it("checks the files the config names", async () => {
    const shortSecret = join(dir, "short-secret");
    await writeFile(shortSecret, "too short\n");
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const privatePem = join(dir, "private.pem");
    await writeFile(privatePem, privateKey.export({ type: "pkcs8", format: "pem" }));
    const garbledPem = join(dir, "garbled.pem");
    await writeFile(garbledPem, "-----BEGIN PUBLIC KEY-----\nbm90IGEga2V5\n-----END PUBLIC KEY-----\n");
    const dataFile = join(dir, "data-file");
    await writeFile(dataFile, "");

    const problems = await problemsOf(
      load(["--jwt-secret-file", shortSecret, "--jwt-public-key-file", privatePem, "--data-dir", dataFile]),
    );
    expect(problems).toEqual([
      `auth.jwtSecretFile: must hold a secret of at least 32 bytes (from --jwt-secret-file)`,
      `auth.jwtPublicKeyFile: must hold a PEM "PUBLIC KEY" or "CERTIFICATE" (from --jwt-public-key-file)`,
      `dataDir: ${dataFile} exists and is not a directory (from --data-dir)`,
    ]);
    expect(await problemsOf(load([], { STREAMKIT_JWT_PUBLIC_KEY_FILE: garbledPem }))).toEqual([
      expect.stringMatching(/^auth\.jwtPublicKeyFile: is not a usable PEM public key: .* \(from STREAMKIT_JWT_PUBLIC_KEY_FILE\)$/),
    ]);
    const missing = join(dir, "nope");
    expect(await problemsOf(load(["--jwt-secret-file", missing]))).toEqual([
      expect.stringMatching(new RegExp(`^auth\\.jwtSecretFile: cannot read ${missing}: ENOENT.*\\(from --jwt-secret-file\\)$`)),
    ]);

    const publicPem = join(dir, "public.pem");
    await writeFile(publicPem, publicKey.export({ type: "spki", format: "pem" }));
    const goodSecret = join(dir, "good-secret");
    await writeFile(goodSecret, `${"k".repeat(32)}\n`);
    const { config } = await load(["--jwt-public-key-file", publicPem, "--jwt-secret-file", goodSecret]);
    expect(config.auth.jwtPublicKeyFile).toBe(publicPem);
  });

  it("validates programmatic options like a config file", async () => {
    expect((await resolveConfig({ port: 0, limits: { idleTtlMs: 0 } })).limits.idleTtlMs).toBe(0);
    const problems = await problemsOf(resolveConfig({ port: -1, limits: { bogus: 1 } } as never));
    expect(problems).toEqual([
      "port: must be an integer 0-65535, got -1 (from startServer options)",
      "limits.bogus: unknown key (from startServer options)",
    ]);
  });
});

describe("config documentation", () => {
  it("lists every key, flag and variable in --help and docs/configuration.md", async () => {
    const help = serveHelp();
    const docs = await readFile(new URL("../../docs/configuration.md", import.meta.url), "utf8");
    for (const { path, flag, env } of SETTINGS) {
      expect(help).toContain(`--${flag} `);
      expect(help).toContain(env);
      expect(docs).toContain(`| \`${path}\` | \`--${flag}\` | \`${env}\` |`);
    }
  });
});
