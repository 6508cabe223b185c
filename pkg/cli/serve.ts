import { DEV_TOKEN_SCOPE } from "./auth.js";
import { ConfigError, loadConfig, type LoadedConfig, wantsHelp } from "./config/index.js";
import { serveHelp } from "./help.js";
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from "./exit-codes.js";
import type { Logger as PinoLogger } from "pino";
import { createCliLogger, prettyLogs } from "./logger.js";
import { type RunningServer, startServer } from "./server.js";
import { watchStopSignals } from "./signals.js";

function printConfigProblems(error: ConfigError): void {
  process.stderr.write(`streamkit serve: invalid configuration\n${error.problems.map((problem) => `  - ${problem}\n`).join("")}`);
}

/** What a dev server tells whoever starts it: its token and how to connect. */
function devTokenLines(server: RunningServer, token: string): { token: string; client: string; dashboard: string; cli: string } {
  return {
    token,
    client: `createClient(createWsProvider(${JSON.stringify(server.wsUrl)}, { token: ${JSON.stringify(token)} }))`,
    dashboard: `${server.url}/`,
    cli: `export STREAMKIT_URL=${server.wsUrl} STREAMKIT_TOKEN=${token} STREAMKIT_STORE_ID=$(node -p 'crypto.randomUUID()')`,
  };
}

/**
 * For a person at a terminal (pretty logs), a block to copy from; otherwise one JSON log line among
 * the others (`msg: "dev token"`), which a log collector or a script parses like any other. It is
 * written whatever the log level (at warn, or as the block when logs are off): without it nobody can connect.
 */
function announceDevToken(server: RunningServer, token: string, logger: PinoLogger, pretty: boolean): void {
  const lines = devTokenLines(server, token);
  if (!pretty && logger.isLevelEnabled("warn")) {
    const fields = { scope: DEV_TOKEN_SCOPE, validHours: 24, ...lines };
    if (logger.isLevelEnabled("info")) logger.info(fields, "dev token");
    else logger.warn(fields, "dev token");
    return;
  }
  process.stderr.write(
    [
      `Dev token (scope ${DEV_TOKEN_SCOPE}, valid 24 h; configure a JWT key for production):`,
      `token: ${lines.token}`,
      `client: ${lines.client}`,
      `dashboard: ${lines.dashboard}`,
      `cli: ${lines.cli}`,
      "",
    ].join("\n"),
  );
}

/** Resolves when a timer of `ms` fires; the timer does not keep the process alive. */
function deadline(ms: number): { reached: Promise<void>; cancel(): void } {
  let timer: NodeJS.Timeout | undefined;
  const reached = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
    timer.unref();
  });
  return { reached, cancel: () => clearTimeout(timer) };
}

/** `streamkit serve`: runs until SIGINT/SIGTERM; resolves to the exit code. */
export async function serve(argv: readonly string[]): Promise<number> {
  if (wantsHelp(argv)) {
    process.stdout.write(serveHelp());
    return EXIT_OK;
  }
  let loaded: LoadedConfig;
  try {
    loaded = await loadConfig({ argv, env: process.env });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    printConfigProblems(error);
    return EXIT_USAGE;
  }
  const { config } = loaded;
  const logger = createCliLogger({ level: config.logLevel, pretty: config.logPretty });
  for (const warning of loaded.warnings) logger.warn({}, warning);
  using signals = watchStopSignals();
  let server: RunningServer;
  try {
    server = await startServer(config, { logger });
  } catch (error) {
    logger.fatal({ err: error }, "cannot start");
    return EXIT_FAILURE;
  }
  if (server.devToken !== undefined) announceDevToken(server, server.devToken, logger, prettyLogs(config.logPretty));

  const signal = await signals.next();
  logger.info({ signal, timeoutMs: config.limits.shutdownTimeoutMs }, "shutting down");
  const timeout = deadline(config.limits.shutdownTimeoutMs);
  const outcome = await Promise.race([
    server.close().then(() => ({ forced: false as const })),
    signals.next().then((second) => ({ forced: true as const, reason: `second ${second}` })),
    timeout.reached.then(() => ({ forced: true as const, reason: "shutdown timeout" })),
  ]).catch((error: unknown) => ({ forced: true as const, reason: String(error) }));
  timeout.cancel();
  if (outcome.forced) {
    logger.error({ reason: outcome.reason }, "forced exit before a graceful stop");
    return EXIT_FAILURE;
  }
  return EXIT_OK;
}
