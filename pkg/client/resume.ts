import type { ConsumeRequest, ConsumeSegmentRequest, ConsumeSpaceRequest, Entry } from "../api/internal/index.js";

export type ReadRequest = ConsumeSegmentRequest | ConsumeSpaceRequest | ConsumeRequest;

/**
 * What a read has delivered, so that it can be opened again right after its last entry: a segment
 * read resumes after that entry's sequence, a space read after its commit position, a multi-space
 * read after the last position delivered in each space (each entry's offset says which). A limit
 * shrinks by what was delivered.
 */
export class ReadProgress {
  readonly #request: ReadRequest;
  /** Offset of the last entry delivered, per space for a multi-space read. */
  #offset: string | undefined;
  readonly #offsets: { [space: string]: string };
  #delivered = 0;

  constructor(request: ReadRequest) {
    this.#request = request;
    this.#offsets = "offsets" in request ? { ...request.offsets } : {};
  }

  /** An entry went to the caller. */
  delivered(entry: Entry): void {
    this.#delivered++;
    if ("offsets" in this.#request) this.#offsets[entry.space] = entry.offset;
    else this.#offset = entry.offset;
  }

  /** The read's limit is met: nothing is left to resume. */
  get complete(): boolean {
    const limit = this.#request.limit ?? 0;
    return limit > 0 && this.#delivered >= limit;
  }

  /** The request that reads what is left: the original one before anything was delivered. */
  request(): ReadRequest {
    if (this.#delivered === 0) return this.#request;
    const limit = this.#request.limit ?? 0;
    const rest = limit > 0 ? { limit: limit - this.#delivered } : {};
    if ("offsets" in this.#request) return { ...this.#request, ...rest, offsets: { ...this.#offsets } };
    // A segment read starts at the later of minSequence and the offset, so minSequence may stay.
    return { ...this.#request, ...rest, offset: this.#offset as string };
  }
}
