import { type ErrorKind, isErrorKind, StreamsError } from "../../api/index.js";
import { deadline } from "../../server/abortable.js";
import { SERVER_FLAGS, serverUrls, tokenSource } from "./connect.js";
import { OUTPUT_FLAGS, wantsTable } from "./listing.js";
import { formatJson } from "./output.js";
import { defineVerb } from "./run.js";
import { formatStatus } from "./status-table.js";

const STATUS_PATH = "api/status";
const REQUEST_TIMEOUT_MS = 10_000;
const ADMIN_SCOPE = "streamkit::admin";

const flags = { ...OUTPUT_FLAGS, ...SERVER_FLAGS } as const;

/** The operator API's URL on the server's HTTP listener: ws(s) → http(s), any `/streamz` dropped. */
export function statusUrl(base: URL): URL {
  const url = new URL(base);
  url.protocol = url.protocol === "wss:" || url.protocol === "https:" ? "https:" : "http:";
  url.pathname = `${url.pathname.replace(/\/streamz\/?$/, "").replace(/\/*$/, "")}/`;
  url.search = "";
  return new URL(STATUS_PATH, url);
}

const KIND_BY_STATUS: Readonly<Record<number, ErrorKind>> = {
  400: "invalid_argument",
  401: "unauthenticated",
  403: "permission_denied",
  404: "not_found",
  429: "resource_exhausted",
  503: "unavailable",
  504: "deadline_exceeded",
};

/** A failed answer as a StreamsError: the body's `{ kind, message }` when it has them. */
async function answerError(url: URL, response: Response): Promise<StreamsError> {
  const text = await response.text();
  const body = ((): unknown => {
    try {
      return JSON.parse(text);
    } catch {
      return undefined;
    }
  })();
  const fields = typeof body === "object" && body !== null ? (body as { kind?: unknown; message?: unknown }) : {};
  if (response.status === 404 && !isErrorKind(fields.kind)) {
    return new StreamsError("not_found", `GET ${url.href} answered 404: no operator status API there (a server without /api/status, or not a Streamkit server)`);
  }
  const kind = isErrorKind(fields.kind) ? fields.kind : (KIND_BY_STATUS[response.status] ?? "internal");
  const message = typeof fields.message === "string" ? fields.message : text.slice(0, 200) || response.statusText;
  return new StreamsError(kind, `GET ${url.href} answered ${response.status}: ${message}`, { details: { status: response.status } });
}

/**
 * The status of the first instance that can be reached, trying the `--url` addresses in order: an
 * instance that cannot be reached (or is shutting down, 503) passes the question on to the next.
 */
async function firstStatus(urls: readonly URL[], token: string | undefined, signal: AbortSignal): Promise<unknown> {
  for (const [index, url] of urls.entries()) {
    try {
      return await fetchStatus(url, token, signal);
    } catch (error) {
      const last = index === urls.length - 1;
      if (last || !(error instanceof StreamsError) || error.kind !== "unavailable") throw error;
    }
  }
  throw new TypeError("no --url to ask");
}

async function fetchStatus(url: URL, token: string | undefined, signal: AbortSignal): Promise<unknown> {
  const timed = deadline(signal, REQUEST_TIMEOUT_MS);
  try {
    return await fetchJson(url, token, signal, timed.signal);
  } finally {
    timed.dispose();
  }
}

async function fetchJson(url: URL, token: string | undefined, signal: AbortSignal, timed: AbortSignal): Promise<unknown> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  let response: Response;
  try {
    response = await fetch(url, { headers, signal: timed });
  } catch (error) {
    if (signal.aborted) throw new StreamsError("cancelled", "request cancelled", { cause: signal.reason });
    if ((error as Error).name === "TimeoutError") throw new StreamsError("deadline_exceeded", `GET ${url.href}: no answer within ${REQUEST_TIMEOUT_MS} ms`);
    const cause = (error as Error).cause instanceof Error ? ((error as Error).cause as Error).message : (error as Error).message;
    throw new StreamsError("unavailable", `cannot reach ${url.origin}: ${cause}`, { cause: error });
  }
  if (!response.ok) throw await answerError(url, response);
  try {
    return await response.json();
  } catch (error) {
    throw new StreamsError("internal", `GET ${url.href} did not answer JSON: ${(error as Error).message}`);
  }
}

export const statusVerb = defineVerb({
  name: "status",
  summary: "Show the server's operator status (connections, nodes, rates).",
  flags,
  positionals: { names: [], min: 0 },
  help: {
    usage: "status [flags]",
    about: [
      "Fetches GET /api/status from the server's HTTP listener (the --url host and port; with several,",
      "the first that answers) and prints it:",
      "as tables on a terminal, as JSON otherwise (or as --output says). Sends the token, if any, as a",
      "bearer token; a token minted from --data-dir gets the streamkit::admin scope.",
    ],
    flags,
    examples: ["streamkit status", "streamkit status --url http://10.0.0.5:8080 --token $ADMIN_TOKEN -o json | jq .connections"],
  },
  async run({ flags: values, fromEnv }, context) {
    const urls = serverUrls(values.url).map(statusUrl);
    const table = wantsTable(values.output, context.stdoutIsTty);
    const source = await tokenSource({ flags: values, fromEnv }, ADMIN_SCOPE, context);
    const token = typeof source === "function" ? await source() : source;
    const status = await firstStatus(urls, token, context.signal);
    await context.out(table ? formatStatus(status) : formatJson(status, context.stdoutIsTty));
    return 0;
  },
});
