import { type Retention } from "../../api/index.js";
import { checkRetention, nameProblem, normalizeRetention, StreamsError } from "../../api/internal/index.js";
import type { Parsed, Setting } from "./settings.js";

/** Space name → retention: the defaults of spaces that set none (docs/lifecycle.md). */
export type RetentionDefaults = { [space: string]: Retention };

const EXPECTED = 'an object of space name → retention, e.g. {"events":{"maxAgeMs":86400000}}';

/**
 * The `retention` key: a JSON object in the config file, the same JSON as text in the environment
 * or a flag. Each space name and retention is checked as `setRetention` checks them; unbounded
 * fields (0) are left out.
 */
export function retentionDefaults(options: { description: string }): Setting<RetentionDefaults | undefined> {
  const setting: Setting<RetentionDefaults | undefined> = {
    expected: EXPECTED,
    defaultValue: undefined,
    description: options.description,
    secret: false,
    fromText(text) {
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        return { ok: false, problem: `must be ${EXPECTED} in JSON, got ${JSON.stringify(text)}` };
      }
      return setting.fromJson(value);
    },
    fromJson(value): Parsed<RetentionDefaults | undefined> {
      if (typeof value !== "object" || value === null || Array.isArray(value)) return { ok: false, problem: `must be ${EXPECTED}` };
      const defaults: RetentionDefaults = {};
      for (const [space, retention] of Object.entries(value as { [space: string]: unknown })) {
        const problem = nameProblem(space);
        if (problem !== undefined) return { ok: false, problem: `space ${JSON.stringify(space)}: ${problem}` };
        try {
          checkRetention(retention, space);
        } catch (error) {
          return { ok: false, problem: error instanceof StreamsError ? error.message : String(error) };
        }
        defaults[space] = normalizeRetention(retention as Retention);
      }
      return { ok: true, value: defaults };
    },
  };
  return setting;
}
