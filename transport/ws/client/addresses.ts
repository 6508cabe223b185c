import { StreamsError } from "../../../pkg/api/index.js";

const STREAMZ_PATH = "/streamz";

/** `ws://host:port` → `ws://host:port/streamz`; http(s) URLs map to ws(s). */
export function streamzUrl(base: string): string {
  if (typeof base !== "string") throw new TypeError("url must be a string");
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    throw new TypeError(`url is not a valid URL: ${base}`);
  }
  if (url.protocol === "http:") url.protocol = "ws:";
  else if (url.protocol === "https:") url.protocol = "wss:";
  if (url.protocol !== "ws:" && url.protocol !== "wss:") throw new TypeError(`url must use ws:, wss:, http: or https:, got ${url.protocol}`);
  if (!url.pathname.endsWith(STREAMZ_PATH)) url.pathname = url.pathname.replace(/\/*$/, "") + STREAMZ_PATH;
  return url.toString();
}

/** One server address or several; a list may also hold comma-separated addresses. */
export type Addresses = string | readonly string[];

/**
 * Where the provider finds servers: one base URL, a list (instances sharing storage), or a function
 * returning either (service discovery), called again before every dial.
 */
export type AddressSource = Addresses | (() => Addresses | Promise<Addresses>);

/** One address as given and the `/streamz` URL it is dialed at. */
export interface Address {
  /** The address as the caller gave it (what `state.url` reports). */
  readonly url: string;
  /** The WebSocket URL dialed. */
  readonly streamz: string;
}

/** Splits and checks an address list; throws `make(message)` for a wrong one (a TypeError for a caller's mistake). */
export function parseAddresses(value: unknown, make: (message: string) => Error): Address[] {
  const items: unknown[] = typeof value === "string" ? [value] : Array.isArray(value) ? (value as unknown[]) : [];
  if (typeof value !== "string" && !Array.isArray(value)) throw make("urls must be a URL string, an array of them, or a function returning either");
  const addresses = new Map<string, Address>();
  for (const item of items) {
    if (typeof item !== "string") throw make("urls must hold strings");
    for (const part of item.split(",")) {
      const url = part.trim();
      if (url === "") continue;
      let streamz: string;
      try {
        streamz = streamzUrl(url);
      } catch (error) {
        throw make((error as Error).message);
      }
      // The same server given twice would double its share of the dials.
      if (!addresses.has(streamz)) addresses.set(streamz, { url, streamz });
    }
  }
  if (addresses.size === 0) throw make("urls must name at least one server");
  return [...addresses.values()];
}

/** Checks a source given to createWsProvider: TypeError for a wrong type or URL, before any dial. */
export function checkAddressSource(source: unknown): AddressSource {
  if (typeof source === "function") return source as () => Addresses | Promise<Addresses>;
  parseAddresses(source, (message) => new TypeError(message));
  return source as Addresses;
}

/**
 * The addresses a discovery function returns now. It throwing is `unavailable` (it may answer on the
 * next dial); a wrong answer is `invalid_argument`, which stops dialing like a refused token.
 */
export async function discover(source: AddressSource): Promise<Address[]> {
  if (typeof source !== "function") return parseAddresses(source, (message) => new TypeError(message));
  let value: unknown;
  try {
    value = await source();
  } catch (error) {
    throw new StreamsError("unavailable", `the urls function failed: ${StreamsError.from(error).message}`, { cause: error });
  }
  return parseAddresses(value, (message) => new StreamsError("invalid_argument", `the urls function answered wrongly: ${message}`));
}
