import type { ConnectionState } from "../api/index.js";
import type { ConsumeState } from "./types.js";

/**
 * What one consume iteration adds to the connection's state: `reconnects` counts its resumes, and
 * `caughtUp` the entries it read after the last resume, up to the server's `caught_up` on a follow
 * read (all of them on a plain read). Both are 0 until a resume.
 */
export class ReadState {
  #reconnects = 0;
  #caughtUp = 0;
  /** Entries are being counted into `caughtUp`: after a resume, until the server caught up. */
  #catchingUp = false;

  snapshot(connection: ConnectionState): ConsumeState {
    return { status: connection.status, reconnects: this.#reconnects, caughtUp: this.#caughtUp };
  }

  entry(): void {
    if (this.#catchingUp) this.#caughtUp++;
  }

  /** The server read up to the head: what follows is live. */
  serverCaughtUp(): void {
    this.#catchingUp = false;
  }

  /** The read is opened again after its last entry. */
  resumed(): void {
    this.#reconnects++;
    this.#caughtUp = 0;
    this.#catchingUp = true;
  }
}
