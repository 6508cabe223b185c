import { randomUUID } from "node:crypto";
import { createClient, type Lease } from "streamkit-ts/client";
import { createWsProvider } from "streamkit-ts/transport/ws";
import { startLocalServer } from "../shared/local-server.js";
import { Changes, interruptSignal, runExample, smoke, within } from "../shared/run.js";
import { FencedBank, StaleTokenError } from "./bank.js";
import { runCandidate } from "./candidate.js";

const CANDIDATES = ["candidate-a", "candidate-b", "candidate-c"];
const TTL_MS = 3_000;
const WRITE_EVERY_MS = smoke ? 100 : 700;
const WAIT_MS = 15_000;

interface Running {
  stop: AbortController;
  stopped: Promise<void>;
}

runExample(async () => {
  const server = await startLocalServer();
  const storeId = randomUUID();
  const bank = new FencedBank();
  const changes = new Changes();
  const interrupted = smoke ? undefined : interruptSignal();
  let leader: Lease | undefined;
  let leaderWrites = 0;
  const candidates = new Map<string, Running>();
  const currentLeader = (): Lease => {
    if (leader === undefined) throw new Error("no leader yet");
    return leader;
  };

  const start = (name: string) => {
    const client = createClient(createWsProvider(server.wsUrl, { token: server.devToken }));
    const stop = new AbortController();
    const options = {
      name,
      client,
      storeId,
      bank,
      ttlMs: TTL_MS,
      writeEveryMs: WRITE_EVERY_MS,
      onLeading: (lease: Lease) => {
        leader = lease;
        leaderWrites = 0;
        changes.changed();
      },
      onWrote: () => {
        leaderWrites++;
        changes.changed();
      },
    };
    const stopped = runCandidate(options, stop.signal).finally(() => client.close());
    candidates.set(name, { stop, stopped });
  };
  // Killing a candidate aborts its withLease: its work stops and its lease is released.
  const kill = async (name: string) => {
    const candidate = candidates.get(name);
    candidates.delete(name);
    candidate?.stop.abort(new Error("killed"));
    await candidate?.stopped;
  };

  try {
    console.log(`${CANDIDATES.length} candidates contend for the "leader" lease (TTL ${TTL_MS} ms)`);
    for (const name of CANDIDATES) start(name);
    for (let round = 1; smoke ? round === 1 : !interrupted?.aborted; round++) {
      if (!(await within(WAIT_MS, "a leader that has written", changes.until(() => leaderWrites >= 3, interrupted)))) break;
      const old = currentLeader();
      leader = undefined;
      console.log(`killing ${old.holder}`);
      await kill(old.holder);
      if (!(await within(WAIT_MS, "a new leader", changes.until(() => leader !== undefined && leaderWrites >= 1, interrupted)))) break;
      const next = currentLeader();
      if (next.token <= old.token) throw new Error(`the new token ${next.token} is not above the old ${old.token}`);

      // A write the old leader sent just before it died, held up in the network, arrives only now.
      try {
        bank.write(old.token, old.holder, "late payout");
        throw new Error("the bank accepted a write with a stale token");
      } catch (error) {
        if (!(error instanceof StaleTokenError)) throw error;
        console.log(`  bank refused a late write from ${old.holder}: ${error.message}`);
      }
      console.log(`handover: ${old.holder} (token ${old.token}) → ${next.holder} (token ${next.token}); the stale write was refused`);
      // The killed process comes back as a fresh candidate.
      if (!smoke) start(old.holder);
    }
    const tokens = bank.ledger.map((line) => line.token);
    if (tokens.some((token, i) => i > 0 && token < tokens[i - 1]!)) throw new Error("the ledger went back to a lower token");
    console.log(`bank ledger: ${bank.ledger.length} lines, tokens never decreasing (highest ${bank.highestToken})`);
  } finally {
    await Promise.all([...candidates.keys()].map(kill));
    await server.close();
  }
});
