export {
  ConfigError,
  loadConfig,
  LOG_LEVELS,
  resolveConfig,
  SETTINGS,
  type AuthConfig,
  type LimitsConfig,
  type LoadedConfig,
  type LogLevel,
  type ServeConfig,
  type ServeConfigInput,
  type SettingEntry,
} from "./config/index.js";
export { createCliLogger, type CliLoggerOptions } from "./logger.js";
export { GOING_AWAY, startServer, type RunningServer, type StartServerOptions } from "./server.js";
