import type { Retention } from "../../api/index.js";
import { integerFlag, UsageError } from "./args.js";
import { nameOf, STORE_FLAGS, storeIdOf, withClient } from "./connect.js";
import { formatJson } from "./output.js";
import { defineVerb } from "./run.js";

// The data lifecycle verbs (docs/lifecycle.md). Each prints what the server answered as JSON.

const deleteFlags = {
  all: { type: "boolean", description: "Delete the whole store (every entry, tombstone, lease and retention)." },
  purge: { type: "boolean", description: "Hard purge: forget the segment(s), tombstones too, so sequences start at 1 again." },
  yes: { type: "boolean", short: "y", description: "Confirm: nothing is deleted without it." },
  ...STORE_FLAGS,
} as const;

export const deleteVerb = defineVerb({
  name: "delete",
  summary: "Delete a segment, a space or (with --all) the whole store.",
  flags: deleteFlags,
  positionals: { names: ["space", "segment"], min: 0 },
  help: {
    usage: "delete <space> [segment] --yes [flags] | delete --all --yes [flags]",
    about: [
      "Deletes a segment's entries (printing its tombstone), every segment of a space (printing their",
      "tombstones), or with --all the whole store. A deleted segment keeps its sequences: a later produce",
      "continues after its old head, unless --purge forgets it (an already deleted one too), after which",
      "its sequences start at 1 again. Needs the store's write scope, and --yes to confirm.",
    ],
    flags: deleteFlags,
    examples: [
      "streamkit delete orders order-42 --yes --store-id $STORE",
      "streamkit delete orders order-42 --purge --yes --store-id $STORE",
      "streamkit delete --all --yes --store-id $STORE",
    ],
  },
  async run({ flags: values, positionals, fromEnv }, context) {
    const storeId = storeIdOf({ flags: values, fromEnv }, context);
    if (values.all === (positionals.length > 0)) throw new UsageError("give a space (and a segment), or --all for the whole store");
    if (values.all && values.purge) throw new UsageError("--purge is for a space or a segment: deleting the whole store (--all) forgets everything already");
    const target = values.all ? `store ${storeId}` : positionals.join("/");
    if (!values.yes) throw new UsageError(`this deletes ${target} for good: add --yes to confirm`);
    const space = positionals[0] === undefined ? undefined : nameOf(positionals[0], "space");
    const segment = positionals[1] === undefined ? undefined : nameOf(positionals[1], "segment");
    return withClient({ flags: values, fromEnv }, context, { scope: `streamkit::${storeId}` }, async (client) => {
      const options = { signal: context.signal, purge: values.purge === true };
      let result: unknown;
      if (space === undefined) {
        await client.deleteStore(storeId, options);
        result = { deleted: storeId };
      } else if (segment === undefined) result = await client.deleteSpace(storeId, space, options);
      else result = await client.deleteSegment(storeId, space, segment, options);
      await context.out(formatJson(result, context.stdoutIsTty));
      return 0;
    });
  },
});

const truncateFlags = {
  before: { type: "string", value: "<sequence>", description: "Remove the entries with a sequence below this one (required)." },
  yes: { type: "boolean", short: "y", description: "Confirm: nothing is removed without it." },
  ...STORE_FLAGS,
} as const;

export const truncateVerb = defineVerb({
  name: "truncate",
  summary: "Remove a segment's entries below a sequence.",
  flags: truncateFlags,
  positionals: { names: ["space", "segment"], min: 2 },
  help: {
    usage: "truncate <space> <segment> --before <sequence> --yes [flags]",
    about: [
      "Removes the segment's entries with a sequence below --before and prints its new head. Reads that",
      "start inside the removed range then fail with out_of_range. Needs the store's write scope.",
    ],
    flags: truncateFlags,
    examples: ["streamkit truncate orders order-42 --before 1000 --yes --store-id $STORE"],
  },
  async run({ flags: values, positionals, fromEnv }, context) {
    const space = nameOf(positionals[0]!, "space");
    const segment = nameOf(positionals[1]!, "segment");
    const storeId = storeIdOf({ flags: values, fromEnv }, context);
    const before = integerFlag(values.before, "before", 1);
    if (before === undefined) throw new UsageError("--before: required");
    if (!values.yes) throw new UsageError(`this removes the entries of ${space}/${segment} below ${before} for good: add --yes to confirm`);
    return withClient({ flags: values, fromEnv }, context, { scope: `streamkit::${storeId}` }, async (client) => {
      const status = await client.truncateSegment(storeId, space, segment, before, { signal: context.signal });
      await context.out(formatJson(status, context.stdoutIsTty));
      return 0;
    });
  },
});

const closeFlags = { ...STORE_FLAGS } as const;

export const closeVerb = defineVerb({
  name: "close",
  summary: "Close a segment: it takes no more entries.",
  flags: closeFlags,
  positionals: { names: ["space", "segment"], min: 2 },
  help: {
    usage: "close <space> <segment> [flags]",
    about: [
      "Marks the segment finished and prints its head (closed: true). Produce and publish to it then fail",
      "with failed_precondition; follow readers end after its last entry. Needs the store's write scope.",
    ],
    flags: closeFlags,
    examples: ["streamkit close orders order-42 --store-id $STORE"],
  },
  async run({ flags: values, positionals, fromEnv }, context) {
    const space = nameOf(positionals[0]!, "space");
    const segment = nameOf(positionals[1]!, "segment");
    const storeId = storeIdOf({ flags: values, fromEnv }, context);
    return withClient({ flags: values, fromEnv }, context, { scope: `streamkit::${storeId}` }, async (client) => {
      const status = await client.closeSegment(storeId, space, segment, { signal: context.signal });
      await context.out(formatJson(status, context.stdoutIsTty));
      return 0;
    });
  },
});

const retentionFlags = {
  "max-age-ms": { type: "string", value: "<ms>", description: "Remove entries older than this (0: no bound)." },
  "max-entries": { type: "string", value: "<count>", description: "Keep at most this many entries per segment (0: no bound)." },
  "max-bytes": { type: "string", value: "<bytes>", description: "Keep at most this many payload bytes per segment (0: no bound)." },
  clear: { type: "boolean", description: "Remove the space's retention." },
  ...STORE_FLAGS,
} as const;

export const retentionVerb = defineVerb({
  name: "retention",
  summary: "Show or set a space's retention.",
  flags: retentionFlags,
  positionals: { names: ["space"], min: 1 },
  help: {
    usage: "retention <space> [--max-age-ms <ms>] [--max-entries <n>] [--max-bytes <n>] [--clear] [flags]",
    about: [
      "Without bounds, prints the space's retention ({} when none). With bounds, sets them (replacing the",
      "previous ones) and prints what is in force; --clear removes it. The server's background sweep",
      "enforces it. Setting needs the store's write scope, showing its read scope.",
    ],
    flags: retentionFlags,
    examples: ["streamkit retention orders --max-age-ms 86400000 --store-id $STORE", "streamkit retention orders --store-id $STORE"],
  },
  async run({ flags: values, positionals, fromEnv }, context) {
    const space = nameOf(positionals[0]!, "space");
    const storeId = storeIdOf({ flags: values, fromEnv }, context);
    const bounds: Retention = {};
    const maxAgeMs = integerFlag(values["max-age-ms"], "max-age-ms", 0);
    const maxEntries = integerFlag(values["max-entries"], "max-entries", 0);
    const maxBytes = integerFlag(values["max-bytes"], "max-bytes", 0);
    if (maxAgeMs !== undefined) bounds.maxAgeMs = maxAgeMs;
    if (maxEntries !== undefined) bounds.maxEntriesPerSegment = maxEntries;
    if (maxBytes !== undefined) bounds.maxBytesPerSegment = maxBytes;
    const setting = values.clear || Object.keys(bounds).length > 0;
    if (values.clear && Object.keys(bounds).length > 0) throw new UsageError("--clear: give no bounds with it");
    const scope = setting ? `streamkit::${storeId}` : `streamkit::${storeId}:read`;
    return withClient({ flags: values, fromEnv }, context, { scope }, async (client) => {
      const options = { signal: context.signal };
      const retention = setting ? await client.setRetention(storeId, space, bounds, options) : await client.getRetention(storeId, space, options);
      await context.out(formatJson(retention, context.stdoutIsTty));
      return 0;
    });
  },
});
