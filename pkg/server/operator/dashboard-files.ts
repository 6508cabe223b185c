import { readFile } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { send } from "./http.js";

/** The dashboard's files, next to this module (the build copies the folder into dist). */
const DASHBOARD_DIR = new URL("./dashboard/", import.meta.url);

const CONTENT_TYPES = {
  "index.html": "text/html; charset=utf-8",
  "app.js": "text/javascript; charset=utf-8",
  "style.css": "text/css; charset=utf-8",
} as const;

export type DashboardFile = keyof typeof CONTENT_TYPES;

/** The page runs only its own script and style and talks only to this server; no other site may frame it. */
const SECURITY_HEADERS = {
  "content-security-policy": "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

/** Serves the dashboard's files, each read once. */
export class DashboardFiles {
  readonly #cache = new Map<DashboardFile, Promise<Buffer>>();

  async serve(request: IncomingMessage, response: ServerResponse, name: DashboardFile): Promise<void> {
    let content = this.#cache.get(name);
    if (content === undefined) {
      content = readFile(new URL(name, DASHBOARD_DIR));
      // A failed read is retried on the next request rather than cached.
      content.catch(() => this.#cache.delete(name));
      this.#cache.set(name, content);
    }
    send(request, response, 200, { "content-type": CONTENT_TYPES[name], "cache-control": "no-cache", ...SECURITY_HEADERS }, await content);
  }
}
