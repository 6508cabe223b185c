import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Entry, StreamsError } from "../../pkg/api/index.js";
import type { StreamsClient } from "../../pkg/client/index.js";
import { PrivatePostgres } from "../support/private-postgres.js";
import { bounded, Conditions } from "../support/waits.js";
import { Cluster, type Instance } from "./cluster.js";

const reason = PrivatePostgres.unavailableReason;
if (reason !== undefined) console.warn(`skipped: PostgreSQL crash and restart under two serve processes: ${reason}`);

/** The error a call failed with, or undefined when it succeeded. */
async function failure(call: Promise<unknown>): Promise<unknown> {
  return call.then(
    () => undefined,
    (error: unknown) => error,
  );
}

/**
 * A real PostgreSQL crash and restart (its own server, stopped with `-m immediate`, so it comes back
 * through crash recovery) under two `streamkit serve` processes that use it for storage and for the
 * bus (LISTEN/NOTIFY), while clients of both publish and a client of one follows the space.
 */
describe.skipIf(reason !== undefined)("PostgreSQL crashed and restarted under load", () => {
  let server: PrivatePostgres;
  let cluster: Cluster;
  let instances: Instance[];
  let clients: StreamsClient[];

  beforeAll(async () => {
    server = await PrivatePostgres.start();
    cluster = new Cluster({ postgresUrl: server.url, adminPostgresUrl: server.url, bus: { kind: "postgres" } });
    instances = [await cluster.start(), await cluster.start()];
    clients = instances.map((instance) => cluster.client(instance));
  }, 180_000);

  afterAll(async () => {
    await cluster?.[Symbol.asyncDispose]();
    await server?.[Symbol.asyncDispose]();
  }, 60_000);

  it("keeps every acknowledged entry, fails calls only with unavailable meanwhile, and the follow misses nothing", async () => {
    const storeId = randomUUID();
    const acknowledged = clients.map(() => [] as number[]);
    const failures: unknown[] = [];
    const progress = new Conditions();
    let restarted = false;

    // The follower resumes after its last entry when a read fails during the outage, as an app would.
    const followed: Entry[] = [];
    const stopFollowing = new AbortController();
    const follow = (async () => {
      while (!stopFollowing.signal.aborted) {
        const offset = followed.at(-1)?.offset;
        try {
          const query = { space: "restart", follow: true, ...(offset === undefined ? {} : { offset }) };
          for await (const entry of clients[1]!.consumeSpace(storeId, query, { signal: stopFollowing.signal })) {
            followed.push(entry);
            progress.check();
          }
        } catch (error) {
          if (error instanceof StreamsError && error.kind === "cancelled") return;
          if (!(error instanceof StreamsError && error.kind === "unavailable")) throw error;
          failures.push(error);
        }
      }
    })();

    const load = clients.map(async (client, i) => {
      // Bounded: each producer stops after 40 acknowledged publishes after the restart, or 400 attempts.
      for (let attempt = 0, after = 0; attempt < 400; attempt++) {
        const outcome = await failure(
          client.publish(storeId, "restart", `seg-${i}`, Buffer.from(`${attempt}`)).then((status) => acknowledged[i]!.push(status.lastSequence)),
        );
        if (outcome !== undefined) failures.push(outcome);
        else if (restarted && ++after >= 40) return;
        progress.check();
      }
    });
    await progress.until(() => acknowledged.every((acks) => acks.length >= 20), "publishes before the crash", 60_000);
    await server.crash();
    await progress.until(() => failures.length >= clients.length, "calls failing while PostgreSQL is down", 60_000);
    await server.restart();
    restarted = true;
    await bounded(Promise.all(load), "the load to finish after the restart", 120_000);

    for (const error of failures) expect(error).toMatchObject({ kind: "unavailable", code: "transient" });
    const stored: Entry[] = [];
    for await (const entry of clients[0]!.consumeSpace(storeId, { space: "restart" })) stored.push(entry);
    for (const [i, acks] of acknowledged.entries()) {
      const sequences = stored.filter((entry) => entry.segment === `seg-${i}`).map((entry) => entry.sequence);
      expect(sequences).toEqual(Array.from({ length: sequences.length }, (_, n) => n + 1));
      for (const sequence of acks) expect(sequences).toContain(sequence);
    }

    await progress.until(() => followed.length >= stored.length, () => `the follow to catch up: ${followed.length} of ${stored.length}`, 60_000);
    stopFollowing.abort();
    await follow;
    expect(followed.map((entry) => `${entry.segment}/${entry.sequence}`)).toEqual(stored.map((entry) => `${entry.segment}/${entry.sequence}`));
  }, 300_000);
});
