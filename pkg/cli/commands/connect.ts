import { assertName, normalizeStoreId, StreamsError } from "../../api/internal/index.js";
import { createClient, type StreamsClient } from "../../client/index.js";
import { createWsProvider, type TokenSource, type WsProvider } from "../../../transport/ws/client/index.js";
import { type FlagSpec, UsageError } from "./args.js";
import type { VerbContext } from "./run.js";
import { explicitSigningFlags, mintToken, resolveSigningKey, SIGNING_FLAGS } from "./signing.js";

const DEFAULT_URL = "ws://127.0.0.1:8080";
/** Failed dials in a row after which a verb gives up (a follow that was connected keeps trying). */
const DIAL_ATTEMPTS = 3;
/** Lifetime of a token minted for one run; a long follow gets fresh ones in band. */
const MINTED_TTL_SEC = 3600;

/** How to reach the server and authenticate; shared by every verb that talks to one. */
export const SERVER_FLAGS = {
  url: {
    type: "string",
    multiple: true,
    value: "<url>",
    env: "STREAMKIT_URL",
    description: `Server base URL (ws:, wss:, http:, https:). Repeat it or separate with commas for several instances: the client fails over between them. Default ${DEFAULT_URL}.`,
  },
  token: { type: "string", value: "<jwt>", env: "STREAMKIT_TOKEN", description: "Bearer token (see `streamkit token`)." },
  "data-dir": {
    ...SIGNING_FLAGS["data-dir"],
    description: "Without a token: mint one with the dev secret of this data directory (a local dev server's).",
  },
  config: { ...SIGNING_FLAGS.config, description: "Without a token: mint one with the key of this serve config file." },
} as const satisfies Record<string, FlagSpec>;

export const STORE_FLAGS = {
  "store-id": { type: "string", value: "<uuid>", env: "STREAMKIT_STORE_ID", description: "Store id (a UUID)." },
  // `serve --store` names a storage backend; the older spelling stays accepted here (with a note), where it cannot be mistaken for one.
  store: { type: "string", value: "<uuid>", description: "Deprecated spelling of --store-id (on serve, --store names the storage backend)." },
  ...SERVER_FLAGS,
} as const satisfies Record<string, FlagSpec>;

/** The parsed server flags of a verb (its other flags may be there too). */
export interface ServerArgs {
  readonly flags: {
    readonly url: readonly string[];
    readonly token: string | undefined;
    readonly "data-dir": string | undefined;
    readonly config: string | undefined;
  };
  readonly fromEnv: ReadonlySet<PropertyKey>;
}

/** The parsed store flags of a verb (its other flags may be there too). */
export interface StoreArgs {
  readonly flags: { readonly "store-id": string | undefined; readonly store: string | undefined };
  readonly fromEnv: ReadonlySet<PropertyKey>;
}

/**
 * The store id from `--store-id` (or its deprecated spelling `--store`, noted on stderr), else
 * STREAMKIT_STORE_ID, in lower case; UsageError when missing or not a UUID.
 */
export function storeIdOf({ flags, fromEnv }: StoreArgs, context: Pick<VerbContext, "note">): string {
  const explicit = fromEnv.has("store-id") ? undefined : flags["store-id"];
  if (explicit === undefined && flags.store !== undefined) context.note("--store is deprecated here (on serve it names the storage backend): use --store-id");
  const [flag, value] = explicit !== undefined ? ["--store-id", explicit] : flags.store !== undefined ? ["--store", flags.store] : ["STREAMKIT_STORE_ID", flags["store-id"]];
  if (value === undefined) throw new UsageError("give the store id with --store-id or STREAMKIT_STORE_ID");
  try {
    return normalizeStoreId(value);
  } catch {
    throw new UsageError(`${flag}: must be a UUID, got ${JSON.stringify(value)}`);
  }
}

/** A space or segment name, checked here so a typo is a usage error rather than a server round trip. */
export function nameOf(value: string, what: string): string {
  try {
    assertName(value, what);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  return value;
}

/** One server base URL, checked: ws:, wss:, http: or https:. */
function serverUrl(text: string): URL {
  const url = URL.canParse(text) ? new URL(text) : undefined;
  if (url === undefined || !["ws:", "wss:", "http:", "https:"].includes(url.protocol)) {
    throw new UsageError(`--url: must be a ws:, wss:, http: or https: URL, got ${JSON.stringify(text)}`);
  }
  return url;
}

/** The server base URLs of `--url` (repeated, comma-separated, or both), checked; the default when none. */
export function serverUrls(values: readonly string[]): URL[] {
  const texts = values.flatMap((value) => value.split(",")).map((text) => text.trim()).filter((text) => text !== "");
  return (texts.length === 0 ? [DEFAULT_URL] : texts).map(serverUrl);
}

/**
 * The bearer token: `--token`, else one minted per dial with the local signing key when `--data-dir`
 * or `--config` says where it is (told on stderr), else none (a server with auth then answers 401).
 */
export async function tokenSource(server: ServerArgs, scope: string, context: VerbContext): Promise<TokenSource | undefined> {
  const { flags } = server;
  if (flags.token !== undefined) return flags.token;
  if (flags["data-dir"] === undefined && flags.config === undefined) return undefined;
  const key = await resolveSigningKey(explicitSigningFlags(flags, server.fromEnv), false);
  if (key === undefined) throw new UsageError(`no --token given and no dev secret in ${flags["data-dir"] ?? "the configured data directory"}`);
  context.note(`no --token given: minting tokens (scope ${scope}) with ${key.source}`);
  return () => mintToken(key, { scopes: [scope], ttlSec: MINTED_TTL_SEC, subject: "streamkit-cli" });
}

export interface ConnectOptions {
  /** Scope of a minted token. */
  readonly scope: string;
  /** Keep redialing after a lost connection (a follow); before the first connection every verb gives up. */
  readonly keepRetrying?: boolean;
}

/** A dial's failure as the verb reports it: where it could not connect, or why the server refused. */
function dialFailure(urls: readonly string[], url: string | undefined, error: StreamsError, tokenGiven: boolean): StreamsError {
  if (error.kind === "unauthenticated" && !tokenGiven) {
    return new StreamsError("unauthenticated", `${error.message} (give a token with --token or STREAMKIT_TOKEN, or --data-dir of a local dev server)`);
  }
  if (error.kind === "unauthenticated") {
    // Most often a dev token from an earlier `npm start` that has expired, or one signed with another key.
    return new StreamsError("unauthenticated", `${error.message} (the token from --token or STREAMKIT_TOKEN was refused: mint a fresh one with \`streamkit token\`, or give --data-dir of a local dev server instead)`);
  }
  if (!error.transient) return error;
  const where = urls.length === 1 ? `cannot reach ${urls[0]}` : `cannot reach any of ${urls.join(", ")} (last: ${url ?? "no address"})`;
  return new StreamsError(error.kind, `${where}: ${error.message}`, { details: error.details });
}

/**
 * A client over WebSocket to `--url` (one of them, failing over to the others). Dials that keep
 * failing — DIAL_ATTEMPTS per address in a row — abort the verb with the last dial's error rather
 * than leaving it waiting; a refused token does so at once.
 */
async function connect(server: ServerArgs, context: VerbContext, options: ConnectOptions): Promise<StreamsClient> {
  const urls = serverUrls(server.flags.url).map((url) => url.href.replace(/\/$/, ""));
  const token = await tokenSource(server, options.scope, context);
  const provider: WsProvider = createWsProvider(urls, {
    token,
    onDialFailure: (error, attempt, url) => {
      const connectedBefore = provider.state.status === "reconnecting";
      const givingUp = !error.transient || (attempt >= DIAL_ATTEMPTS * urls.length && !(options.keepRetrying === true && connectedBefore));
      if (givingUp) context.abort(dialFailure(urls, url, error, token !== undefined));
    },
  });
  return createClient(provider);
}

/** Runs `body` with a connected client and closes it afterwards, whatever happens. */
export async function withClient<T>(
  server: ServerArgs,
  context: VerbContext,
  options: ConnectOptions,
  body: (client: StreamsClient) => Promise<T>,
): Promise<T> {
  const client = await connect(server, context, options);
  try {
    return await body(client);
  } finally {
    await client.close();
  }
}
