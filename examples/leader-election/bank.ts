/** A write the bank refused because a newer lease holder has written since. */
export class StaleTokenError extends Error {
  constructor(
    readonly token: number,
    readonly highestToken: number,
  ) {
    super(`stale fencing token ${token}: the bank has already accepted token ${highestToken}`);
    this.name = "StaleTokenError";
  }
}

export interface LedgerLine {
  token: number;
  writer: string;
  text: string;
}

/**
 * The downstream resource the leader writes to (in a real system: a database row with a `fence`
 * column, an object store with conditional writes). It remembers the highest fencing token that has
 * written to it and refuses any lower one, so a leader that lost its lease cannot write, however late
 * its write arrives.
 */
export class FencedBank {
  #highestToken = 0;
  readonly #ledger: LedgerLine[] = [];

  /** Appends a line if `token` is at least the highest seen; else throws StaleTokenError and changes nothing. */
  write(token: number, writer: string, text: string): void {
    if (token < this.#highestToken) throw new StaleTokenError(token, this.#highestToken);
    this.#highestToken = token;
    this.#ledger.push({ token, writer, text });
  }

  get highestToken(): number {
    return this.#highestToken;
  }

  get ledger(): readonly LedgerLine[] {
    return this.#ledger;
  }
}
