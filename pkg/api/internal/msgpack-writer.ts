const utf8 = new TextEncoder();

/** Node's unfilled allocation where there is one (every byte gets written); a zeroed array in browsers, which never write entries messages. */
const allocate: (size: number) => Uint8Array =
  typeof Buffer === "function" ? (size) => Buffer.allocUnsafe(size) : (size) => new Uint8Array(size);

/**
 * Writes msgpack into one buffer sized by the caller (an upper bound), for the few hot messages
 * written by hand (entries-codec.ts). Numbers take the forms msgpackr takes: the smallest integer
 * form for 32-bit integers, float64 otherwise (exact for every safe integer).
 */
export class MsgpackWriter {
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  #at = 0;

  constructor(bound: number) {
    this.#bytes = allocate(bound);
    this.#view = new DataView(this.#bytes.buffer, this.#bytes.byteOffset, this.#bytes.byteLength);
  }

  /** The bytes written, as a plain Uint8Array view. */
  finish(): Uint8Array {
    return new Uint8Array(this.#bytes.buffer, this.#bytes.byteOffset, this.#at);
  }

  mapHeader(size: number): void {
    this.#header(size, 0x80, 0xde);
  }

  arrayHeader(size: number): void {
    this.#header(size, 0x90, 0xdc);
  }

  string(value: string): void {
    const bytes = this.#bytes;
    // Short ASCII strings (keys, names, ids) are most of them: copy their code units directly.
    if (value.length < 32) {
      const start = this.#at + 1;
      let i = 0;
      for (; i < value.length; i++) {
        const code = value.charCodeAt(i);
        if (code >= 0x80) break;
        bytes[start + i] = code;
      }
      if (i === value.length) {
        bytes[this.#at] = 0xa0 | i;
        this.#at = start + i;
        return;
      }
    }
    const encoded = utf8.encode(value);
    const length = encoded.byteLength;
    if (length < 32) bytes[this.#at++] = 0xa0 | length;
    else if (length < 0x100) {
      bytes[this.#at++] = 0xd9;
      bytes[this.#at++] = length;
    } else if (length < 0x1_0000) {
      bytes[this.#at++] = 0xda;
      this.#view.setUint16(this.#at, length);
      this.#at += 2;
    } else {
      bytes[this.#at++] = 0xdb;
      this.#length32(length, "string");
    }
    this.raw(encoded);
  }

  number(value: number): void {
    const bytes = this.#bytes;
    if (value >>> 0 === value) {
      if (value < 0x80) bytes[this.#at++] = value;
      else if (value < 0x100) {
        bytes[this.#at++] = 0xcc;
        bytes[this.#at++] = value;
      } else if (value < 0x1_0000) {
        bytes[this.#at++] = 0xcd;
        this.#view.setUint16(this.#at, value);
        this.#at += 2;
      } else {
        bytes[this.#at++] = 0xce;
        this.#view.setUint32(this.#at, value);
        this.#at += 4;
      }
    } else if (value >> 0 === value) {
      bytes[this.#at++] = 0xd2;
      this.#view.setInt32(this.#at, value);
      this.#at += 4;
    } else {
      bytes[this.#at++] = 0xcb;
      this.#view.setFloat64(this.#at, value);
      this.#at += 8;
    }
  }

  bin(value: Uint8Array): void {
    const length = value.byteLength;
    const bytes = this.#bytes;
    if (length < 0x100) {
      bytes[this.#at++] = 0xc4;
      bytes[this.#at++] = length;
    } else if (length < 0x1_0000) {
      bytes[this.#at++] = 0xc5;
      this.#view.setUint16(this.#at, length);
      this.#at += 2;
    } else {
      bytes[this.#at++] = 0xc6;
      this.#length32(length, "bin");
    }
    this.raw(value);
  }

  /** Bytes already in msgpack, as they are. */
  raw(value: Uint8Array): void {
    this.#bytes.set(value, this.#at);
    this.#at += value.byteLength;
  }

  #header(size: number, fix: number, wide: number): void {
    const bytes = this.#bytes;
    if (size < 16) bytes[this.#at++] = fix | size;
    else if (size < 0x1_0000) {
      bytes[this.#at++] = wide;
      this.#view.setUint16(this.#at, size);
      this.#at += 2;
    } else {
      bytes[this.#at++] = wide + 1;
      this.#length32(size, fix === 0x80 ? "map" : "array");
    }
  }

  /** msgpack's widest length is 32 bits: DataView would wrap a larger one silently, leaving bytes a decoder misreads. */
  #length32(length: number, what: string): void {
    if (length > 0xffff_ffff) throw new RangeError(`msgpack ${what} of length ${length} exceeds the format's 2^32 - 1`);
    this.#view.setUint32(this.#at, length);
    this.#at += 4;
  }
}
