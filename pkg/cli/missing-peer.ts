// The server's dependencies are optional peers of the package (an SDK user installs none of them,
// docs/install.md), so a missing one is reported with the command that installs them instead of a
// bare module-not-found stack.
const SERVER_PEERS = "@opentelemetry/api abstract-level classic-level ioredis mitt pg pino pino-pretty prom-client";

function missingPackage(error: unknown): string | undefined {
  if (typeof error !== "object" || error === null || (error as { code?: unknown }).code !== "ERR_MODULE_NOT_FOUND") return undefined;
  return /Cannot find package '([^']+)'/.exec(String((error as { message?: unknown }).message))?.[1];
}

/** Tells on stderr which server package is missing and how to install them; false when `error` is something else. */
export function reportMissingPeer(error: unknown): boolean {
  const name = missingPackage(error);
  if (name === undefined) return false;
  process.stderr.write(`streamkit: the server needs the package ${name}, which is not installed.\nInstall the server's dependencies beside streamkit-ts:\n  npm install ${SERVER_PEERS}\n`);
  return true;
}
