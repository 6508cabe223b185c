import { type StreamsClient, StreamsError } from "streamkit-ts/client";
import { type Account, type AccountCommand, type AccountEvent, decide, evolve, NEW_ACCOUNT } from "./account.js";

const SPACE = "accounts";
const MAX_ATTEMPTS = 25;
/** Longest pause before deciding again; the pause doubles per conflict, with jitter, up to this. */
const MAX_BACKOFF_MS = 50;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export interface ExecuteOptions {
  /** The state the command was decided on (say, what a teller's screen showed); absent: load it now. */
  from?: Account;
  /** Told of each conflict before the command is decided again on the reloaded account. */
  onConflict?(error: StreamsError, reloaded: Account): void;
}

export interface Executed {
  account: Account;
  events: AccountEvent[];
  /** Conflicts survived before the save went through. */
  conflicts: number;
}

/** Accounts stored as event streams: one segment per account in the "accounts" space. */
export class AccountRepository {
  readonly #client: StreamsClient;
  readonly #storeId: string;

  constructor(client: StreamsClient, storeId: string) {
    this.#client = client;
    this.#storeId = storeId;
  }

  /** Reads the account's segment from the start and folds its events. */
  async load(accountId: string): Promise<Account> {
    let account = NEW_ACCOUNT;
    for await (const entry of this.#client.consumeSegment(this.#storeId, { space: SPACE, segment: accountId })) {
      account = evolve(account, JSON.parse(decoder.decode(entry.payload)) as AccountEvent, entry.sequence);
    }
    return account;
  }

  /**
   * Appends `events` right after `expectedVersion`, atomically: if anyone else has appended since,
   * nothing is written and the call fails with `sequence_conflict`.
   */
  async save(accountId: string, expectedVersion: number, events: AccountEvent[]): Promise<void> {
    const records = events.map((event, i) => ({
      sequence: expectedVersion + 1 + i,
      payload: encoder.encode(JSON.stringify(event)),
      metadata: { type: event.type },
    }));
    // One batch, so the command's events commit together or not at all.
    await this.#client.produce(this.#storeId, SPACE, accountId, records, { batchSize: Math.max(records.length, 1) });
  }

  /**
   * Decides `command` on the account and saves the result at the expected version; on a
   * `sequence_conflict` reloads the account and decides again, since the command may now produce
   * other events or be refused. An AccountRefusal is not retried. The pause before reloading is
   * random: two writers that keep reloading in step would otherwise keep colliding, and the slower
   * one could lose every time.
   */
  async execute(accountId: string, command: AccountCommand, options: ExecuteOptions = {}): Promise<Executed> {
    let account = options.from ?? (await this.load(accountId));
    for (let conflicts = 0; ; conflicts++) {
      const events = decide(account, command);
      try {
        await this.save(accountId, account.version, events);
        const saved = events.reduce((state, event, i) => evolve(state, event, account.version + 1 + i), account);
        return { account: saved, events, conflicts };
      } catch (error) {
        if (!(error instanceof StreamsError && error.kind === "sequence_conflict") || conflicts + 1 >= MAX_ATTEMPTS) throw error;
        await pause(Math.random() * Math.min(MAX_BACKOFF_MS, 2 ** conflicts));
        account = await this.load(accountId);
        options.onConflict?.(error, account);
      }
    }
  }
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
