/**
 * Reads the msgpack forms a stored batch value holds (values.ts), without msgpackr's generic
 * decoder: a catch-up read decodes every stored batch, and msgpackr's per-payload and per-map work
 * led its profile (docs/performance.md). Throws RangeError on any other form, so the caller can
 * fall back to msgpackr.
 */
export class BatchReader {
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  at = 0;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** Moves past an empty map and answers true, or answers false and stays (msgpackr writes `{}` as map16 of 0). */
  emptyMap(): boolean {
    const bytes = this.#bytes;
    const type = bytes[this.at];
    if (type === 0x80) this.at += 1;
    else if (type === 0xde && bytes[this.at + 1] === 0 && bytes[this.at + 2] === 0) this.at += 3;
    else return false;
    return true;
  }

  arrayLength(): number {
    const type = this.#byte();
    if ((type & 0xf0) === 0x90) return type & 0x0f;
    if (type === 0xdc) return this.#uint(2);
    if (type === 0xdd) return this.#uint(4);
    throw notPlain();
  }

  mapLength(): number {
    const type = this.#byte();
    if ((type & 0xf0) === 0x80) return type & 0x0f;
    if (type === 0xde) return this.#uint(2);
    if (type === 0xdf) return this.#uint(4);
    throw notPlain();
  }

  number(): number {
    const type = this.#byte();
    if (type < 0x80) return type;
    if (type >= 0xe0) return type - 0x100;
    const view = this.#view;
    const at = this.at;
    switch (type) {
      case 0xcc:
        return this.#uint(1);
      case 0xcd:
        return this.#uint(2);
      case 0xce:
        return this.#uint(4);
      case 0xcf:
        this.at += 8;
        return Number(view.getBigUint64(at));
      case 0xd0:
        this.at += 1;
        return view.getInt8(at);
      case 0xd1:
        this.at += 2;
        return view.getInt16(at);
      case 0xd2:
        this.at += 4;
        return view.getInt32(at);
      case 0xd3:
        this.at += 8;
        return Number(view.getBigInt64(at));
      case 0xca:
        this.at += 4;
        return view.getFloat32(at);
      case 0xcb:
        this.at += 8;
        return view.getFloat64(at);
      default:
        throw notPlain();
    }
  }

  string(): string {
    const length = this.#stringLength();
    const start = this.at;
    this.at += length;
    this.#check();
    return Buffer.from(this.#bytes.buffer, this.#bytes.byteOffset + start, length).toString("utf8");
  }

  /** A bin's bytes as a plain Uint8Array view of the value (no copy). */
  bin(): Uint8Array {
    const type = this.#byte();
    const length = type === 0xc4 ? this.#uint(1) : type === 0xc5 ? this.#uint(2) : type === 0xc6 ? this.#uint(4) : -1;
    if (length < 0) throw notPlain();
    const start = this.at;
    this.at += length;
    this.#check();
    return new Uint8Array(this.#bytes.buffer, this.#bytes.byteOffset + start, length);
  }

  /** Moves past a map of strings to strings. */
  skipStringMap(): void {
    for (let pairs = this.mapLength() * 2; pairs > 0; pairs--) {
      const length = this.#stringLength(); // before reading `at`: it moves past the string's header
      this.at += length;
    }
    this.#check();
  }

  /** The bytes from `start` to the cursor (a view, no copy). */
  since(start: number): Uint8Array {
    return this.#bytes.subarray(start, this.at);
  }

  #stringLength(): number {
    const type = this.#byte();
    if ((type & 0xe0) === 0xa0) return type & 0x1f;
    if (type === 0xd9) return this.#uint(1);
    if (type === 0xda) return this.#uint(2);
    if (type === 0xdb) return this.#uint(4);
    throw notPlain();
  }

  #byte(): number {
    const byte = this.#bytes[this.at++];
    if (byte === undefined) throw notPlain();
    return byte;
  }

  #uint(size: 1 | 2 | 4): number {
    const at = this.at;
    this.at += size;
    this.#check();
    return size === 1 ? this.#view.getUint8(at) : size === 2 ? this.#view.getUint16(at) : this.#view.getUint32(at);
  }

  #check(): void {
    if (this.at > this.#bytes.byteLength) throw notPlain();
  }
}

/** The bytes are not in the forms BatchReader reads, or are cut short (as DataView's own reads past the end). */
const notPlain = (): RangeError => new RangeError("not a plain stored batch value");
