/** What happened to an account: the facts stored, one entry each, in its segment. */
export type AccountEvent = { type: "opened"; owner: string } | { type: "deposited"; amount: number } | { type: "withdrawn"; amount: number };

/** What someone asks of an account; deciding it may produce events or be refused. */
export type AccountCommand = { type: "open"; owner: string } | { type: "deposit"; amount: number } | { type: "withdraw"; amount: number };

/** The aggregate: folded from its events. `version` is the sequence of the last event applied (0: none yet). */
export interface Account {
  opened: boolean;
  balance: number;
  version: number;
}

export const NEW_ACCOUNT: Account = { opened: false, balance: 0, version: 0 };

/** A command the account refuses whatever its version: not a conflict, so not retried. */
export class AccountRefusal extends Error {
  override name = "AccountRefusal";
}

export function evolve(account: Account, event: AccountEvent, version: number): Account {
  switch (event.type) {
    case "opened":
      return { opened: true, balance: 0, version };
    case "deposited":
      return { ...account, balance: account.balance + event.amount, version };
    case "withdrawn":
      return { ...account, balance: account.balance - event.amount, version };
  }
}

/** The account's rules: which events a command produces in the current state, or why it is refused. */
export function decide(account: Account, command: AccountCommand): AccountEvent[] {
  if (command.type === "open") {
    if (account.opened) throw new AccountRefusal("the account is already open");
    return [{ type: "opened", owner: command.owner }];
  }
  if (!account.opened) throw new AccountRefusal("the account is not open");
  if (!Number.isSafeInteger(command.amount) || command.amount <= 0) throw new AccountRefusal(`invalid amount ${command.amount}`);
  if (command.type === "deposit") return [{ type: "deposited", amount: command.amount }];
  if (command.amount > account.balance) throw new AccountRefusal(`insufficient funds: balance ${account.balance}, withdraw ${command.amount}`);
  return [{ type: "withdrawn", amount: command.amount }];
}
