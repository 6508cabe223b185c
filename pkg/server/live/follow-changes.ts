/**
 * The spaces in which something new may have been committed since a follow read last looked: one
 * flag per space and nothing else, so however fast notifications come, a follow holds no more than
 * this set (entries are read again from storage at the reader's pace).
 */
export class SpaceChanges {
  readonly #dirty = new Set<string>();
  #wake: (() => void) | undefined;

  /** Starts with every space of the read marked (the history still has to be read). */
  constructor(private readonly spaces: readonly string[]) {
    this.markAll();
  }

  get any(): boolean {
    return this.#dirty.size > 0;
  }

  mark(space: string): void {
    this.#dirty.add(space);
    this.#notify();
  }

  /** After a bus outage notifications may have been lost: look everywhere again. */
  markAll(): void {
    for (const space of this.spaces) this.#dirty.add(space);
    this.#notify();
  }

  /** The marked spaces, clearing their marks (before they are read, so a commit during the read marks them again). */
  take(): string[] {
    const spaces = [...this.#dirty];
    this.#dirty.clear();
    return spaces;
  }

  /** Resolves once a space is marked; rejects with the signal's reason when it aborts first. */
  async changed(signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    if (this.any) return;
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        this.#wake = undefined;
        reject(signal.reason);
      };
      this.#wake = () => {
        this.#wake = undefined;
        signal.removeEventListener("abort", onAbort);
        resolve();
      };
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }

  #notify(): void {
    this.#wake?.();
  }
}
