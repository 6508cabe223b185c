import type { IncomingMessage, ServerResponse } from "node:http";

/** `degraded`: failing, yet not needed to serve (a bus: live updates across instances lag, produce goes on). */
export type DependencyState = "ok" | "degraded" | "starting" | "stopping" | "failing";

export interface DependencyStatus {
  state: DependencyState;
  [detail: string]: unknown;
}

/** The body of `/readyz`: overall status and each dependency's own. */
export interface Readiness {
  status: "ready" | "not_ready";
  dependencies: Record<string, DependencyStatus>;
}

export type ReadinessCheck = () => Promise<Readiness>;

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", "content-length": Buffer.byteLength(text) });
  response.end(text);
}

/**
 * Answers the operator probes: `/healthz` (the process is up) and `/readyz` (200 when every
 * dependency is ok or degraded, else 503). Other paths are 404; WebSocket upgrades never reach this handler.
 */
export function createProbeHandler(readiness: ReadinessCheck): (request: IncomingMessage, response: ServerResponse) => void {
  return (request, response) => {
    const path = new URL(request.url ?? "/", "http://localhost").pathname;
    if (path !== "/healthz" && path !== "/readyz") {
      sendJson(response, 404, { error: "not_found", path });
      return;
    }
    if (request.method !== "GET" && request.method !== "HEAD") {
      response.setHeader("allow", "GET, HEAD");
      sendJson(response, 405, { error: "method_not_allowed" });
      return;
    }
    if (path === "/healthz") {
      sendJson(response, 200, { status: "ok" });
      return;
    }
    readiness().then(
      (body) => sendJson(response, body.status === "ready" ? 200 : 503, body),
      (error: unknown) => sendJson(response, 503, { status: "not_ready", error: String(error) }),
    );
  };
}
