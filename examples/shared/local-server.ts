import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type RunningServer, type ServeConfigInput, startServer } from "streamkit-ts/cli";

export interface LocalServer extends RunningServer {
  /** Stops the server and removes its data directory. */
  close(): Promise<void>;
}

/**
 * `streamkit serve` in this process, on a free port of 127.0.0.1 with LevelDB in a fresh temp
 * directory, logging warnings only. Without an `auth` key it makes a dev secret and `devToken`.
 */
export async function startLocalServer(config: ServeConfigInput = {}): Promise<LocalServer> {
  const dataDir = await mkdtemp(join(tmpdir(), "streamkit-example-"));
  let server: RunningServer;
  try {
    server = await startServer({ host: "127.0.0.1", port: 0, dataDir, logLevel: "warn", ...config });
  } catch (error) {
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
  const close = async () => {
    await server.close();
    await rm(dataDir, { recursive: true, force: true });
  };
  return { ...server, close, [Symbol.asyncDispose]: close };
}
