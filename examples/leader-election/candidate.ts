import { setTimeout as sleep } from "node:timers/promises";
import type { Lease, StreamsClient } from "streamkit-ts/client";
import { isCancelled } from "../shared/run.js";
import type { FencedBank } from "./bank.js";

export interface CandidateOptions {
  name: string;
  /** Its own client: a candidate stands for a separate process. */
  client: StreamsClient;
  storeId: string;
  bank: FencedBank;
  /** Lease lifetime; `withLease` renews it every third of that. */
  ttlMs: number;
  /** Pause between two writes while leading. */
  writeEveryMs: number;
  /** Called once the candidate leads, with its lease (the fencing token is `lease.token`). */
  onLeading(lease: Lease): void;
  /** Called after each write the bank accepted. */
  onWrote(): void;
}

/**
 * One contender for the "leader" key: waits for the lease, then writes to the bank with its fencing
 * token until it loses the lease or `signal` aborts (the process being killed). Resolves when it has stopped.
 */
export async function runCandidate(options: CandidateOptions, signal: AbortSignal): Promise<void> {
  const { name, client, storeId, bank } = options;
  try {
    await client.withLease(storeId, "leader", { holder: name, ttlMs: options.ttlMs, signal }, async (leaseSignal, lease) => {
      console.log(`${name} leads with fencing token ${lease.token}`);
      options.onLeading(lease);
      for (let payout = 1; !leaseSignal.aborted; payout++) {
        bank.write(lease.token, name, `payout ${payout}`);
        console.log(`  bank accepted "${name}: payout ${payout}" (token ${lease.token})`);
        options.onWrote();
        await sleep(options.writeEveryMs, undefined, { signal: leaseSignal }).catch(() => undefined);
      }
      if (!signal.aborted) console.log(`${name} lost the lease: ${String(leaseSignal.reason)}`);
    });
  } catch (error) {
    if (!isCancelled(error)) throw error;
  }
}
