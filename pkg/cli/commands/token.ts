import { UsageError } from "./args.js";
import { defineVerb } from "./run.js";
import { explicitSigningFlags, mintToken, resolveSigningKey, SIGNING_FLAGS } from "./signing.js";
import { parseTtl } from "./ttl.js";

const flags = {
  scope: {
    type: "string",
    multiple: true,
    value: "<scope>",
    description: "Scope to grant: streamkit::*, streamkit::<store>, streamkit::<store>:read, streamkit::admin, …",
  },
  ttl: { type: "string", value: "<duration>", description: "Lifetime: seconds, or with a unit (90s, 15m, 1h, 7d). Default 1h." },
  subject: { type: "string", value: "<sub>", description: "`sub` claim (shows in the server's status and logs)." },
  ...SIGNING_FLAGS,
} as const;

export const tokenVerb = defineVerb({
  name: "token",
  summary: "Mint a token with the configured key (or the dev secret).",
  flags,
  positionals: { names: [], min: 0 },
  help: {
    usage: "token --scope <scope> [--scope …] [--ttl 1h] [--subject <sub>] [flags]",
    about: [
      "Mints an HS256 token with the key `streamkit serve` verifies with, read from the same sources:",
      "--config, STREAMKIT_* variables and the flags below. With no key configured that is the dev secret",
      "in <data-dir>/jwt-secret (generated now if missing, as serve would). A server configured with a",
      "public key or JWKS URL cannot have tokens minted here: this refuses. Prints the token alone on stdout.",
    ],
    flags,
    examples: [
      "streamkit token --scope 'streamkit::*' --ttl 1h",
      "streamkit token --scope streamkit::0d4c2a8e-7f1b-4c3e-9a65-2f0e8b7d1c44:read --subject dashboard --data-dir /srv/data",
      "export STREAMKIT_TOKEN=$(streamkit token --scope 'streamkit::*')",
    ],
  },
  async run({ flags: values, fromEnv }, context) {
    if (values.scope.length === 0) throw new UsageError("give at least one --scope");
    const invalid = values.scope.find((scope) => scope === "" || /\s/.test(scope));
    if (invalid !== undefined) throw new UsageError(`--scope: must be non-empty without whitespace, got ${JSON.stringify(invalid)}`);
    const ttlSec = parseTtl(values.ttl ?? "1h", "ttl");
    const key = await resolveSigningKey(explicitSigningFlags(values, fromEnv), true);
    if (key.created) context.note(`generated a dev secret in ${key.source}; a server started with this data directory accepts the token`);
    const token = await mintToken(key, { scopes: values.scope, ttlSec, subject: values.subject });
    await context.out(`${token}\n`);
    return 0;
  },
});
