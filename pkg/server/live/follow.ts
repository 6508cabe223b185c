import type { OffsetKind } from "../../api/internal/index.js";
import type { StoredEntry } from "../../../store/types.js";
import type { HandlerContext } from "../handlers/context.js";
import { sendEntries } from "../handlers/entries.js";

/** A read that can go on after its history: where it is, and how to read what came after. */
export interface ReadSource {
  /** The spaces the read covers. */
  readonly spaces: readonly string[];
  /** Which offsets the read's entries carry: segment offsets (by sequence) or space offsets (by position). */
  readonly offsets: OffsetKind;
  /**
   * The entries of `spaces` after those already taken, in the read's order and in chunks; taking a
   * chunk advances the read past it.
   */
  read(spaces: readonly string[]): AsyncIterable<StoredEntry[]>;
  /** No more entries can come: the limit, maxSequence or maxTimestamp was reached. */
  readonly finished: boolean;
}

/** A plain read: the history, once. */
export async function sendHistory(context: HandlerContext, source: ReadSource): Promise<void> {
  if (!source.finished) await sendEntries(context, source.read(source.spaces), source.offsets);
}
