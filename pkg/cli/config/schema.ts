import { type RetentionDefaults, retentionDefaults } from "./retention-setting.js";
import { httpUrl, integer, oneOf, type Setting, switchOrAuto, text } from "./settings.js";

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface AuthConfig {
  /** HMAC secret (HS256/384/512), at least 32 bytes. */
  jwtSecret: string | undefined;
  /** File whose text (trimmed) is the HMAC secret. */
  jwtSecretFile: string | undefined;
  /** PEM public key file (RS*, PS*, ES*, EdDSA). */
  jwtPublicKeyFile: string | undefined;
  jwksUrl: string | undefined;
  jwtIssuer: string | undefined;
  jwtAudience: string | undefined;
  /** Scopes granted to requests without a token (HTTP and WebSocket), comma-separated; none by default. */
  anonymousScopes: string | undefined;
  clockToleranceSec: number;
  /** Refuse tokens without `exp`; auto = on for configured keys, off for the dev secret. */
  requireExp: boolean | "auto";
  /** Longest token lifetime (`exp - iat`) accepted; 0 = no maximum. */
  maxTokenLifetimeSec: number;
}

export interface LimitsConfig {
  maxFrameBytes: number;
  maxPayloadBytes: number;
  /** Bytes of recent entries kept per followed space for its followers. */
  liveWindowBytes: number;
  maxStreamsPerConnection: number;
  maxConnections: number;
  pingIntervalMs: number;
  maxSpacesPerConsume: number;
  maxRecordsPerBatch: number;
  maxMetadataEntries: number;
  sendHighWaterMarkBytes: number;
  maxUnsentBytes: number;
  maxConnectionMemoryBytes: number;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  upgradeTimeoutMs: number;
  /** 0 turns idle eviction off. */
  idleTtlMs: number;
  /** How often each open store's retention is enforced (docs/lifecycle.md); 0 turns the sweeper off. */
  retentionSweepIntervalMs: number;
  idleCheckIntervalMs: number;
  /** 0: derived from the descriptor limit. */
  maxOpenStores: number;
  /** Idempotent-publish producer states each open store keeps in memory (docs/protocol.md). */
  maxProducers: number;
  shutdownTimeoutMs: number;
}

/** Everything `streamkit serve` runs with. */
export interface ServeConfig {
  host: string;
  port: number;
  unixSocket: string | undefined;
  dataDir: string;
  store: "level" | "memory" | "postgres";
  /** How level stores lie in the data directory (docs/tenants.md). */
  levelLayout: "shared" | "per-store";
  /** What carries notifications between instances: in-process (one instance), Redis or PostgreSQL (several). */
  bus: "memory" | "redis" | "postgres";
  /** Redis for `bus: "redis"`: redis://, rediss:// or unix:///path. */
  redisUrl: string | undefined;
  /** PostgreSQL for `store: "postgres"` and `bus: "postgres"`. */
  postgresUrl: string | undefined;
  /** Schema of the PostgreSQL store's tables. */
  postgresSchema: string;
  /** Connections at most in the PostgreSQL store's pool. */
  postgresPoolMax: number;
  /** Keeps deployments that share one Redis or PostgreSQL apart on the bus. */
  busChannelPrefix: string;
  /** What `/readyz` says while the bus is down: still ready with the bus `degraded` (default), or `not_ready`. */
  busDownReadiness: "degraded" | "not_ready";
  logLevel: LogLevel;
  /** `"auto"`: pretty when stderr is a TTY. */
  logPretty: boolean | "auto";
  /** Retention of spaces (by name) that set none of their own, in every store (docs/lifecycle.md). */
  retention: RetentionDefaults | undefined;
  auth: AuthConfig;
  limits: LimitsConfig;
}

/** A Setting for every leaf of a config shape, groups nested alike. */
export type SchemaOf<C> = { [K in keyof C]-?: C[K] extends object ? SchemaOf<C[K]> : Setting<C[K]> };

const MIB = 1024 * 1024;
const GIB = 1024 * MIB;
const HOUR_MS = 3_600_000;

/** sun_path holds 108 bytes on Linux, one of them the terminating NUL. */
const MAX_SOCKET_PATH_BYTES = 107;

export const SERVE_SCHEMA: SchemaOf<ServeConfig> = {
  host: text({ defaultValue: "127.0.0.1", description: "Interface the TCP listener binds to (0.0.0.0 for all)." }),
  port: integer({ defaultValue: 8080, min: 0, max: 65535, description: "TCP port; 0 picks a free one (the log names it)." }),
  unixSocket: text({
    description: "Also listen on this unix socket path (mode 0660; a stale socket file is replaced).",
    check: (value) =>
      Buffer.byteLength(value) > MAX_SOCKET_PATH_BYTES ? `must be at most ${MAX_SOCKET_PATH_BYTES} bytes long` : undefined,
  }),
  dataDir: text({ defaultValue: "./data", description: "Directory for LevelDB stores and the generated dev secret." }),
  store: oneOf({
    values: ["level", "memory", "postgres"],
    defaultValue: "level",
    description: "Storage backend; memory keeps nothing across restarts; postgres is shared by several instances.",
  }),
  levelLayout: oneOf({
    values: ["shared", "per-store"],
    defaultValue: "shared",
    description: "Level stores in one shared database (store-id prefixes) or one database per store.",
  }),
  bus: oneOf({
    values: ["memory", "redis", "postgres"],
    defaultValue: "memory",
    description: "Notification bus; redis or postgres to share live updates between instances.",
  }),
  redisUrl: text({
    description: "Redis for bus=redis: redis://host:port, rediss://… or unix:///path/redis.sock.",
    check: (value) => (/^(rediss?:\/\/|unix:\/\/\/)/.test(value) ? undefined : "must be a redis://, rediss:// or unix:/// URL"),
  }),
  postgresUrl: text({
    secret: true,
    description: "PostgreSQL for store=postgres and bus=postgres: postgres://user:password@host:port/database.",
    check: (value) => (/^postgres(ql)?:\/\//.test(value) ? undefined : "must be a postgres:// or postgresql:// URL"),
  }),
  postgresSchema: text({
    defaultValue: "streamkit",
    description: "Schema of the PostgreSQL store's tables (a lower-case identifier; created if missing).",
    check: (value) => (/^[a-z_][a-z0-9_]{0,62}$/.test(value) ? undefined : "must be a lower-case identifier (a-z, 0-9, _), at most 63 bytes"),
  }),
  postgresPoolMax: integer({ defaultValue: 10, min: 1, max: 1000, description: "Connections at most in the PostgreSQL store's pool." }),
  busDownReadiness: oneOf({
    values: ["degraded", "not_ready"] as const,
    defaultValue: "degraded",
    description: "What /readyz says while the bus is down: degraded (200, the bus reported degraded; produce never needs the bus) or not_ready (503).",
  }),
  busChannelPrefix: text({
    defaultValue: "streamkit:",
    description: "Prefix of the bus channels; deployments sharing one Redis or PostgreSQL need different ones.",
  }),
  logLevel: oneOf({ values: LOG_LEVELS, defaultValue: "info", description: "Lowest level logged." }),
  logPretty: switchOrAuto({ defaultValue: "auto", description: "Human-readable logs instead of JSON lines; auto = when stderr is a TTY." }),
  retention: retentionDefaults({
    description: "Retention of spaces that set none, by space name, in every store: JSON like {\"events\":{\"maxAgeMs\":86400000}}.",
  }),
  auth: {
    jwtSecret: text({ secret: true, description: "HMAC secret for HS256/384/512 tokens (at least 32 bytes)." }),
    jwtSecretFile: text({ description: "File holding the HMAC secret (its text, trimmed)." }),
    jwtPublicKeyFile: text({ description: "PEM public key (SPKI) or X.509 certificate for RS/PS/ES/EdDSA tokens." }),
    jwksUrl: httpUrl({ description: "JWKS endpoint for asymmetric tokens." }),
    jwtIssuer: text({ description: "Required `iss` claim." }),
    jwtAudience: text({ description: "Required `aud` claim." }),
    anonymousScopes: text({ description: "Scopes granted to requests without a token, comma-separated (e.g. 'streamkit::*' on loopback); default none." }),
    clockToleranceSec: integer({ defaultValue: 5, min: 0, max: 3600, description: "Leeway for `exp` and `nbf`, in seconds." }),
    requireExp: switchOrAuto({ defaultValue: "auto", description: "Refuse tokens without `exp` (they never expire); auto = on for configured keys, off for the dev secret." }),
    maxTokenLifetimeSec: integer({
      defaultValue: 30 * 24 * 3600,
      min: 0,
      max: 100 * 365 * 24 * 3600,
      description: "Longest token lifetime accepted (exp - iat, or exp - now without iat), in seconds; 0 = no maximum. Applies to configured keys.",
    }),
  },
  limits: {
    maxFrameBytes: integer({ defaultValue: 8 * MIB, min: 1024, max: GIB, description: "Largest WebSocket frame accepted." }),
    maxPayloadBytes: integer({ defaultValue: 6 * MIB, min: 1, max: GIB, description: "Largest record payload; below maxFrameBytes." }),
    liveWindowBytes: integer({ defaultValue: 8 * MIB, min: 1024, max: GIB, description: "Recent entries kept in memory per followed space, shared by its followers." }),
    maxStreamsPerConnection: integer({ defaultValue: 256, min: 1, max: 1_000_000, description: "Logical streams open at once on one connection." }),
    maxConnections: integer({ defaultValue: 10_000, min: 1, max: 10_000_000, description: "WebSocket connections held at once." }),
    pingIntervalMs: integer({ defaultValue: 30_000, min: 100, max: HOUR_MS, description: "Server ping interval; a peer missing two pongs is dropped." }),
    maxSpacesPerConsume: integer({ defaultValue: 1_000, min: 1, max: 1_000_000, description: "Spaces one consume may name." }),
    maxRecordsPerBatch: integer({ defaultValue: 10_000, min: 1, max: 10_000_000, description: "Records one produce batch may carry." }),
    maxMetadataEntries: integer({ defaultValue: 256, min: 1, max: 1_000_000, description: "Entries of one metadata object (record, publish, worker)." }),
    sendHighWaterMarkBytes: integer({
      defaultValue: MIB,
      min: 1024,
      max: GIB,
      description: "Unsent bytes per connection at which data waits and the socket is not read.",
    }),
    maxUnsentBytes: integer({
      defaultValue: 16 * MIB,
      min: 2048,
      max: 4 * GIB,
      description: "Unsent bytes past which a connection is closed (1008); at least sendHighWaterMarkBytes + maxFrameBytes.",
    }),
    maxConnectionMemoryBytes: integer({
      defaultValue: 64 * MIB,
      min: 1024,
      max: 64 * GIB,
      description: "Memory one connection may hold: queued frames and what its streams reserve.",
    }),
    headersTimeoutMs: integer({ defaultValue: 10_000, min: 100, max: HOUR_MS, description: "Time an HTTP request (upgrades too) has to send its headers." }),
    requestTimeoutMs: integer({ defaultValue: 30_000, min: 100, max: HOUR_MS, description: "Time an HTTP request has to arrive whole; at least headersTimeoutMs." }),
    keepAliveTimeoutMs: integer({ defaultValue: 5_000, min: 100, max: HOUR_MS, description: "Idle time after which a kept-alive HTTP connection is closed." }),
    upgradeTimeoutMs: integer({ defaultValue: 10_000, min: 100, max: HOUR_MS, description: "Time a WebSocket upgrade has to be authenticated and accepted." }),
    idleTtlMs: integer({ defaultValue: 300_000, min: 0, max: 24 * HOUR_MS, description: "Close a store unused this long (0: never)." }),
    idleCheckIntervalMs: integer({ defaultValue: 60_000, min: 100, max: HOUR_MS, description: "How often idle stores are looked for." }),
    retentionSweepIntervalMs: integer({
      defaultValue: 60_000,
      min: 0,
      max: 24 * HOUR_MS,
      description: "How often each open store's retention is enforced (0: never; docs/lifecycle.md).",
    }),
    maxOpenStores: integer({
      defaultValue: 0,
      min: 0,
      max: 10_000_000,
      description: "Most stores open at once; the least recently used idle one is closed to make room (0: from the descriptor limit, logged at start).",
    }),
    maxProducers: integer({
      defaultValue: 10_000,
      min: 1,
      max: 10_000_000,
      description: "Idempotent-publish records each open store keeps in memory (each segment, producer and kept acknowledgement counts one, ~110 bytes); past it the least recently used segments are read again from the data when needed.",
    }),
    shutdownTimeoutMs: integer({ defaultValue: 10_000, min: 1, max: HOUR_MS, description: "Graceful stop budget; past it the process exits with 1." }),
  },
};

/** One leaf of the schema with the names it goes by in each source. */
export interface SettingEntry {
  /** Dotted JSON path, also the name in messages: `limits.maxFrameBytes`. */
  readonly path: string;
  /** Command-line flag without dashes: `max-frame-bytes`. */
  readonly flag: string;
  /** Environment variable: `STREAMKIT_MAX_FRAME_BYTES`. */
  readonly env: string;
  readonly setting: Setting<unknown>;
}

function isSetting(value: unknown): value is Setting<unknown> {
  return typeof value === "object" && value !== null && "fromText" in value;
}

const words = (camel: string): string[] => camel.split(/(?=[A-Z])/).map((word) => word.toLowerCase());

function collect(group: object, prefix: string, into: SettingEntry[]): SettingEntry[] {
  for (const [key, value] of Object.entries(group) as [string, unknown][]) {
    const path = prefix + key;
    if (isSetting(value)) {
      into.push({ path, flag: words(key).join("-"), env: `STREAMKIT_${words(key).join("_").toUpperCase()}`, setting: value });
    } else if (typeof value === "object" && value !== null) {
      collect(value, `${path}.`, into);
    }
  }
  return into;
}

/** Every key, in schema order. Flags and env vars are named after the last path segment. */
export const SETTINGS: readonly SettingEntry[] = collect(SERVE_SCHEMA, "", []);

/** Top-level groups (`auth`, `limits`). */
export const GROUPS: ReadonlySet<string> = new Set(
  Object.entries(SERVE_SCHEMA)
    .filter(([, value]) => !isSetting(value))
    .map(([key]) => key),
);
