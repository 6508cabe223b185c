import type { IncomingMessage, Server as HttpServer, ServerResponse } from "node:http";
import type { Server as HttpsServer } from "node:https";
import { type Principal, StreamsError, isValidName, isValidStoreId } from "../../pkg/api/index.js";
import { type Logger, silentLogger } from "../../pkg/api/logger.js";
import { createClient } from "../../pkg/client/index.js";
import type { Authenticator } from "../../pkg/server/auth/index.js";
import type { NodeManager } from "../../pkg/server/types.js";
import { createProducerWriterProvider } from "../inproc/provider.js";
import { appendToStream } from "./append.js";
import type { HttpLimits, RequestContext } from "./context.js";
import { createStream } from "./create.js";
import { HttpProblem, answerPreflight, badRequest, header, setCommonHeaders } from "./headers.js";
import type { StreamRef } from "./meta.js";
import { headStream, readStream } from "./read-stream.js";
import { DurableStreams } from "./streams.js";
import { AppendGroups } from "./append-groups.js";
import { BodyBudget } from "./body.js";
import { positiveInteger } from "../../pkg/api/internal/options.js";

export interface DurableStreamsOptions extends Partial<HttpLimits> {
  manager: Pick<NodeManager, "handleStream">;
  /**
   * Verifies `Authorization: Bearer` tokens (requests without one get its `anonymous` grant, else 401);
   * absent: every request has full access (a trusted embedding).
   */
  authenticator?: Authenticator;
  /** Where streams are served. Default `/v1/stream`. */
  basePath?: string;
  /** Store of stream paths that do not name one. Default `00000000-0000-0000-0000-000000000000`. */
  defaultStoreId?: string;
  /** Space of stream paths that do not name one. Default `streams`. */
  defaultSpace?: string;
  logger?: Logger;
}

export const DEFAULT_HTTP_LIMITS: HttpLimits = {
  longPollTimeoutMs: 10_000,
  sseMaxMs: 60_000,
  maxReadBytes: 1024 * 1024,
  maxBodyBytes: 6 * 1024 * 1024,
  maxPendingBodyBytes: 64 * 1024 * 1024,
  maxRequests: 10_000,
};

/** Serves requests under the base path; answers false for any other URL so the host can serve it. */
export type DurableStreamsHandler = (request: IncomingMessage, response: ServerResponse) => boolean;

/** Builds the Durable Streams HTTP handler (docs/http.md) over a node manager. */
export function createDurableStreamsHandler(options: DurableStreamsOptions): DurableStreamsHandler {
  if (typeof options?.manager?.handleStream !== "function") throw new TypeError("manager must be a NodeManager");
  const limits: HttpLimits = { ...DEFAULT_HTTP_LIMITS };
  for (const name of Object.keys(DEFAULT_HTTP_LIMITS) as (keyof HttpLimits)[]) {
    const value = options[name];
    if (value !== undefined) limits[name] = positiveInteger(value, name);
  }
  const basePath = (options.basePath ?? "/v1/stream").replace(/\/+$/, "");
  const defaultStoreId = (options.defaultStoreId ?? "00000000-0000-0000-0000-000000000000").toLowerCase();
  if (!isValidStoreId(defaultStoreId)) throw new TypeError("defaultStoreId must be a UUID string");
  const defaultSpace = options.defaultSpace ?? "streams";
  if (!isValidName(defaultSpace)) throw new TypeError("defaultSpace must be a valid space name");
  const logger = options.logger ?? silentLogger;

  /** `{storeId}/{space}/{segment…}` when the path starts with a store id, else a segment of the default store and space. */
  const resolve = (path: string): StreamRef => {
    const name = path.startsWith(`${basePath}/`) ? path.slice(basePath.length + 1) : path.replace(/^\/+/, "");
    const parts = name.split("/");
    if (parts.length >= 3 && isValidStoreId(parts[0])) {
      const [storeId, space, ...segment] = parts as [string, string, ...string[]];
      return { storeId: storeId.toLowerCase(), space, segment: segment.join("/"), path: name };
    }
    return { storeId: defaultStoreId, space: defaultSpace, segment: name, path: name };
  };
  const streams = new DurableStreams(resolve);
  const appends = new AppendGroups();
  const bodies = new BodyBudget(limits.maxPendingBodyBytes);
  /** Requests being served: each holds a client and streams until it is answered (long-polls and SSE for long). */
  let serving = 0;

  async function principalOf(request: IncomingMessage): Promise<Principal | undefined> {
    const authorization = header(request, "authorization");
    if (authorization === undefined) {
      if (options.authenticator === undefined) return undefined;
      if (options.authenticator.anonymous !== undefined) return options.authenticator.anonymous.principal;
      throw new HttpProblem(401, "a Bearer token is required", { "www-authenticate": "Bearer" });
    }
    const token = /^Bearer\s+(.+)$/i.exec(authorization)?.[1];
    if (token === undefined) throw new HttpProblem(401, "Authorization must be a Bearer token", { "www-authenticate": "Bearer" });
    if (options.authenticator === undefined) return undefined;
    return (await options.authenticator.authenticate(token)).principal;
  }

  async function serve(request: IncomingMessage, response: ServerResponse, url: URL, rawName: string): Promise<void> {
    let name: string;
    try {
      name = decodeURIComponent(rawName);
    } catch {
      throw badRequest("the stream path is not valid percent-encoding");
    }
    if (name === "" || name.split("/")[0] === "__ds") throw new HttpProblem(404, "no such stream");
    const ref = resolve(name);
    if (!isValidName(ref.space) || !isValidName(ref.segment)) throw badRequest("the stream path is not a valid segment name");
    const principal = await principalOf(request);
    const abort = new AbortController();
    response.once("close", () => abort.abort());
    // The gateway's own producer state (the same metadata keys as idempotent publish) is written by it alone.
    const client = createClient(createProducerWriterProvider(options.manager, principal === undefined ? {} : { principal }));
    const body = bodies.share();
    const context: RequestContext = { streams, appends, client, ref, request, response, url, limits, body, location: `http://${header(request, "host") ?? "localhost"}${basePath}/${rawName}`, signal: abort.signal };
    try {
      switch (request.method) {
        case "PUT":
          return await createStream(context);
        case "POST":
          return await appendToStream(context);
        case "GET":
          return await readStream(context);
        case "HEAD":
          return await headStream(context);
        case "DELETE":
          return await deleteStream(context);
        default:
          throw new HttpProblem(405, "method not allowed", { allow: "GET, HEAD, PUT, POST, DELETE, OPTIONS" });
      }
    } finally {
      body.release();
      await client.close();
    }
  }

  return (request, response) => {
    const url = new URL(request.url ?? "/", "http://localhost");
    if (url.pathname !== basePath && !url.pathname.startsWith(`${basePath}/`)) return false;
    setCommonHeaders(response);
    if (request.method === "OPTIONS") {
      answerPreflight(response);
      return true;
    }
    if (serving >= limits.maxRequests) {
      answerError(response, new HttpProblem(503, "the server is serving as many requests as it may; try again", { "retry-after": "1", connection: "close" }), silentLogger);
      return true;
    }
    serving++;
    const rawName = url.pathname.slice(basePath.length + 1);
    void serve(request, response, url, rawName)
      .catch((error: unknown) => answerError(response, error, logger))
      .finally(() => serving--);
    return true;
  };
}

async function deleteStream(context: RequestContext): Promise<void> {
  const outcome = await context.streams.remove(context.client, context.ref);
  if (outcome === "missing") throw new HttpProblem(404, "no such stream");
  if (outcome === "gone") throw new HttpProblem(410, "stream was deleted");
  context.response.statusCode = 204;
  context.response.end();
}

const STATUS_OF_KIND: { [kind: string]: number } = {
  invalid_argument: 400,
  unauthenticated: 401,
  permission_denied: 403,
  not_found: 404,
  sequence_conflict: 409,
  failed_precondition: 409,
  out_of_range: 410,
  resource_exhausted: 429,
  unavailable: 503,
  deadline_exceeded: 504,
  cancelled: 499,
};

function answerError(response: ServerResponse, error: unknown, logger: Logger): void {
  let status = 500;
  let message = "internal error";
  let headers: { [name: string]: string } = {};
  if (error instanceof HttpProblem) {
    ({ status, message, headers } = error);
  } else if (error instanceof StreamsError) {
    status = STATUS_OF_KIND[error.kind] ?? 500;
    if (error.kind === "resource_exhausted" && error.code === "permanent") status = 413;
    message = error.message;
    if (error.retryAfterMs !== undefined) headers["retry-after"] = String(Math.max(1, Math.ceil(error.retryAfterMs / 1000)));
  }
  if (status >= 500) logger.error({ err: error }, "durable streams request failed");
  if (response.headersSent) {
    response.destroy();
    return;
  }
  response.statusCode = status;
  for (const [name, value] of Object.entries(headers)) response.setHeader(name, value);
  response.setHeader("content-type", "application/json");
  response.end(JSON.stringify({ error: { code: status, message } }));
}

/** An attached handler; `close()` detaches it (idempotent). */
export interface DurableStreamsServer {
  close(): void;
}

/**
 * Serves the Durable Streams protocol on a host's node:http server (docs/http.md): requests under the
 * base path go to it, every other request to the host's own listeners, as before.
 */
export function attachDurableStreams(server: HttpServer | HttpsServer, options: DurableStreamsOptions): DurableStreamsServer {
  const handle = createDurableStreamsHandler(options);
  const hosts = server.listeners("request") as ((request: IncomingMessage, response: ServerResponse) => void)[];
  const dispatch = (request: IncomingMessage, response: ServerResponse): void => {
    if (handle(request, response)) return;
    for (const host of hosts) host.call(server, request, response);
  };
  server.removeAllListeners("request");
  server.on("request", dispatch);
  let attached = true;
  return {
    close() {
      if (!attached) return;
      attached = false;
      server.removeListener("request", dispatch);
      for (const host of hosts) server.on("request", host);
    },
  };
}
