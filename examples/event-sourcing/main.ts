import { randomUUID } from "node:crypto";
import { createClient, type StreamsClient } from "streamkit-ts/client";
import { createWsProvider } from "streamkit-ts/transport/ws";
import { startLocalServer } from "../shared/local-server.js";
import { runExample } from "../shared/run.js";
import { type AccountCommand, AccountRefusal } from "./account.js";
import { AccountRepository, type Executed } from "./repository.js";

const DEPOSITS_EACH = 20;

/** A command's outcome as a line, or the refusal; other errors propagate. */
async function attempt(teller: string, run: () => Promise<Executed>): Promise<{ executed?: Executed; refusal?: string }> {
  try {
    return { executed: await run() };
  } catch (error) {
    if (!(error instanceof AccountRefusal)) throw error;
    console.log(`  ${teller}: refused: ${error.message}`);
    return { refusal: error.message };
  }
}

runExample(async () => {
  const server = await startLocalServer();
  const storeId = randomUUID();
  const connect = (): StreamsClient => createClient(createWsProvider(server.wsUrl, { token: server.devToken }));
  // Two tellers, each its own process and connection, working on the same account.
  const clients = [connect(), connect()] as const;
  const [tellerA, tellerB] = clients.map((client) => new AccountRepository(client, storeId)) as [AccountRepository, AccountRepository];
  const accountId = `account-${randomUUID().slice(0, 8)}`;

  try {
    await tellerA.execute(accountId, { type: "open", owner: "Ada" });
    const opened = await tellerA.execute(accountId, { type: "deposit", amount: 100 });
    console.log(`${accountId} opened with 100 (version ${opened.account.version})`);

    // 1. Both tellers decide on the same screen (balance 100, version 2) and save at once: exactly one
    //    save wins sequence 3; the other gets sequence_conflict, reloads, and decides again.
    const screen = await tellerA.load(accountId);
    console.log(`both tellers see balance ${screen.balance} at version ${screen.version}; A withdraws 80 while B withdraws 70`);
    const withdraw = (teller: string, repository: AccountRepository, amount: number) =>
      attempt(teller, async () => {
        const command: AccountCommand = { type: "withdraw", amount };
        const executed = await repository.execute(accountId, command, {
          from: screen,
          onConflict: (error, reloaded) =>
            console.log(
              `  ${teller}: sequence_conflict ${JSON.stringify(error.details)}; reloaded: balance ${reloaded.balance} at version ${reloaded.version}, deciding again`,
            ),
        });
        console.log(`  ${teller}: withdrew ${amount}, saved at version ${executed.account.version}`);
        return executed;
      });
    const outcomes = await Promise.all([withdraw("teller A", tellerA, 80), withdraw("teller B", tellerB, 70)]);
    const refused = outcomes.filter((outcome) => outcome.refusal !== undefined).length;
    if (refused !== 1) throw new Error(`expected exactly one of the two withdrawals to be refused, got ${refused}`);
    const afterRace = await tellerB.load(accountId);
    console.log(`one withdrawal won, the other was refused after its conflict: balance ${afterRace.balance}, never below 0`);

    // 2. Both tellers deposit concurrently; every conflict is retried, no deposit is lost.
    const deposits = async (repository: AccountRepository, amount: number) => {
      let conflicts = 0;
      for (let i = 0; i < DEPOSITS_EACH; i++) conflicts += (await repository.execute(accountId, { type: "deposit", amount })).conflicts;
      return conflicts;
    };
    const conflicts = await Promise.all([deposits(tellerA, 10), deposits(tellerB, 5)]);
    const expected = afterRace.balance + DEPOSITS_EACH * (10 + 5);
    const final = await tellerA.load(accountId);
    console.log(
      `${2 * DEPOSITS_EACH} concurrent deposits saved after ${conflicts[0] + conflicts[1]} conflict retries; final balance ${final.balance} (expected ${expected}) at version ${final.version}`,
    );
    if (final.balance !== expected) throw new Error(`the balance is ${final.balance}, expected ${expected}`);
  } finally {
    await Promise.all(clients.map((client) => client.close()));
    await server.close();
  }
});
