import { open } from "node:fs/promises";
import type { Readable } from "node:stream";
import { UsageError } from "./args.js";

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;

/** One input line: its bytes without the line break, and its 1-based number for messages. */
export interface Line {
  readonly bytes: Uint8Array;
  readonly number: number;
}

/** Where a verb reads its input: `--file <path>`, else (or with `-`) stdin. */
export async function openInput(file: string | undefined): Promise<Readable> {
  if (file === undefined || file === "-") return process.stdin;
  // Opened here so a missing file is a usage error before anything is sent.
  const handle = await open(file, "r").catch((error: Error) => {
    throw new UsageError(`--file: cannot read ${file}: ${error.message}`);
  });
  return handle.createReadStream();
}

/**
 * The lines of `input` as raw bytes (no decoding, so a payload comes out byte for byte). A line
 * ends at `\n`, and a `\r` right before it goes with the break; a last line without a break counts.
 */
export async function* readLines(input: AsyncIterable<Buffer | string>): AsyncGenerator<Line> {
  let pending = Buffer.alloc(0);
  let number = 0;
  const take = (end: number): Line => {
    const contentEnd = end > 0 && pending[end - 1] === CARRIAGE_RETURN ? end - 1 : end;
    return { bytes: new Uint8Array(pending.subarray(0, contentEnd)), number: ++number };
  };
  for await (const chunk of input) {
    pending = Buffer.concat([pending, Buffer.from(chunk)]);
    for (let end = pending.indexOf(NEWLINE); end !== -1; end = pending.indexOf(NEWLINE)) {
      yield take(end);
      pending = pending.subarray(end + 1);
    }
  }
  if (pending.length > 0) yield take(pending.length);
}
