import { connect } from "node:net";

/**
 * The external services tests talk to: PostgreSQL and Redis at their default local addresses, or
 * where STREAMKIT_POSTGRES_URL / STREAMKIT_REDIS_URL point. A service that does not answer is
 * skipped with a printed reason, except under CI (CI=true), where it fails the run instead: CI must
 * never pass by skipping what the machine could run.
 */

export const DEFAULT_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/test";
export const DEFAULT_REDIS_URL = "redis://127.0.0.1:6379";

const PROBE_MS = 1_000;

export interface Service {
  readonly name: string;
  /** The URL to use, or undefined when the service did not answer. */
  readonly url: string | undefined;
  /** Why tests of this service are skipped, or undefined when it answered. */
  readonly skipReason: string | undefined;
}

/** Whether something accepts TCP connections at `url`'s host and port (unix:// URLs: assumed yes). */
function answers(url: string, defaultPort: number): Promise<boolean> {
  let host: string;
  let port: number;
  try {
    const parsed = new URL(url);
    if (parsed.protocol === "unix:" || parsed.hostname === "") return Promise.resolve(true);
    host = parsed.hostname.replace(/^\[|\]$/g, "");
    port = parsed.port === "" ? defaultPort : Number(parsed.port);
  } catch {
    return Promise.resolve(false);
  }
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(PROBE_MS, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

async function probe(name: string, variable: string, defaultUrl: string, defaultPort: number): Promise<Service> {
  const fromEnv = process.env[variable];
  const url = fromEnv !== undefined && fromEnv !== "" ? fromEnv : defaultUrl;
  if (await answers(url, defaultPort)) return { name, url, skipReason: undefined };
  const reason = `${name} does not answer at ${url} (set ${variable} to point elsewhere)`;
  if (process.env.CI === "true") throw new Error(`CI needs ${name}: ${reason}`);
  return { name, url: undefined, skipReason: reason };
}

export const postgres: Service = await probe("PostgreSQL", "STREAMKIT_POSTGRES_URL", DEFAULT_POSTGRES_URL, 5432);
export const redis: Service = await probe("Redis", "STREAMKIT_REDIS_URL", DEFAULT_REDIS_URL, 6379);

/** Prints, once per test file, what is skipped because `service` is absent; returns whether it is. */
export function skipping(service: Service, what: string): boolean {
  if (service.skipReason === undefined) return false;
  console.warn(`skipped: ${what}: ${service.skipReason}`);
  return true;
}
