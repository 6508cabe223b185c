import { UsageError } from "./args.js";

const UNIT_SECONDS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86_400 };
/** Longer-lived bearer tokens are a liability; a year is far past any sensible use. */
const MAX_TTL_SEC = 366 * 86_400;

/** `3600`, `90s`, `15m`, `1h`, `7d` → seconds; anything else is a UsageError naming `flag`. */
export function parseTtl(text: string, flag: string): number {
  const match = /^(\d+)([smhd]?)$/.exec(text.trim());
  const seconds = match === null ? Number.NaN : Number(match[1]) * UNIT_SECONDS[match[2] || "s"]!;
  if (!Number.isSafeInteger(seconds) || seconds < 1 || seconds > MAX_TTL_SEC) {
    throw new UsageError(`--${flag}: must be a duration of 1 s to 366 d such as 3600, 90s, 15m, 1h or 7d, got ${JSON.stringify(text)}`);
  }
  return seconds;
}
