export { ConfigError, loadConfig, resolveConfig, type LoadedConfig, type ServeConfigInput } from "./load.js";
export { LOG_LEVELS, SETTINGS, type AuthConfig, type LimitsConfig, type LogLevel, type ServeConfig, type SettingEntry } from "./schema.js";
export { CONFIG_FILE_ENV, wantsHelp, type Sourced } from "./sources.js";
