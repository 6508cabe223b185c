import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StreamsError } from "../../pkg/api/index.js";
import { postgres, skipping } from "../support/services.js";
import { TcpProxy } from "../support/tcp-proxy.js";
import { bounded } from "../support/waits.js";
import { Cluster, type Instance } from "./cluster.js";

const skip = skipping(postgres, "serve on PostgreSQL");

interface Readiness {
  status: string;
  dependencies: Record<string, { state: string; backend?: string; error?: string }>;
}

async function readiness(instance: Instance): Promise<{ code: number; body: Readiness }> {
  const response = await fetch(`${instance.url}/readyz`);
  return { code: response.status, body: (await response.json()) as Readiness };
}

/** Polls /readyz (bounded) until `wanted` holds: readiness follows the database, which the test cannot signal. */
async function untilReadiness(instance: Instance, wanted: (body: Readiness, code: number) => boolean, what: string): Promise<Readiness> {
  let last: Readiness | undefined;
  const reached = (async () => {
    for (;;) {
      const { code, body } = await readiness(instance);
      last = body;
      if (wanted(body, code)) return body;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  return bounded(reached, () => `${what}; last /readyz: ${JSON.stringify(last)}`, 20_000);
}

// One store, one bus: PostgreSQL alone, reached through a proxy the test cuts to simulate an outage.
describe.skipIf(skip)("streamkit serve --store postgres --bus postgres, two processes", () => {
  let proxy: TcpProxy;
  let cluster: Cluster;
  let a: Instance;
  let b: Instance;

  beforeAll(async () => {
    const target = new URL(postgres.url ?? "");
    proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port || 5432) });
    cluster = new Cluster({ postgresUrl: proxy.rewrite(postgres.url ?? ""), adminPostgresUrl: postgres.url ?? "", bus: { kind: "postgres" } });
    // One at a time: two processes compiling at once on a busy machine can outlast a start's bound.
    [a, b] = [await cluster.start(), await cluster.start()];
  }, 120_000);

  afterAll(async () => {
    await cluster?.[Symbol.asyncDispose]();
    await proxy?.[Symbol.asyncDispose]();
  });

  it("reports each dependency in /readyz and shares entries and live updates between the instances", async () => {
    for (const instance of [a, b]) {
      const ready = await untilReadiness(instance, (body) => body.status === "ready", "both instances ready");
      expect(ready.dependencies.store).toMatchObject({ state: "ok", backend: "postgres" });
      expect(ready.dependencies.bus).toMatchObject({ state: "ok", backend: "postgres" });
    }
    const storeId = randomUUID();
    const [atA, atB] = [cluster.client(a), cluster.client(b)];
    const seen: number[] = [];
    const following = (async () => {
      for await (const entry of atB.consumeSegment(storeId, { space: "orders", segment: "o-1", follow: true })) {
        seen.push(entry.sequence);
        if (entry.sequence === 3) break;
      }
    })();
    await atA.produce(storeId, "orders", "o-1", [1, 2, 3].map((sequence) => ({ sequence, payload: Buffer.from(`e${sequence}`) })));
    await bounded(following, "the follower on the other instance to see 3 entries");
    expect(seen).toEqual([1, 2, 3]);
  });

  it("goes not ready while PostgreSQL is unreachable, fails calls with unavailable, and serves again without a restart", async () => {
    const storeId = randomUUID();
    const client = cluster.client(a);
    await client.publish(storeId, "orders", "o-2", Buffer.from("before"));

    proxy.cut();
    const down = await untilReadiness(a, (body, code) => code === 503 && body.dependencies.store?.state === "failing", "store failing in /readyz");
    expect(down.status).toBe("not_ready");
    const error = await client.publish(storeId, "orders", "o-2", Buffer.from("during")).then(
      () => undefined,
      (failure: unknown) => failure,
    );
    expect(error).toBeInstanceOf(StreamsError);
    expect(error).toMatchObject({ kind: "unavailable", code: "transient" });

    proxy.restore();
    await untilReadiness(a, (body) => body.status === "ready", "ready again");
    const status = await bounded(
      (async () => {
        for (;;) {
          try {
            return await client.publish(storeId, "orders", "o-2", Buffer.from("after"));
          } catch (failure) {
            if (!(failure instanceof StreamsError) || failure.kind !== "unavailable") throw failure;
            await new Promise((resolve) => setTimeout(resolve, 200));
          }
        }
      })(),
      "a publish to succeed after the outage",
      20_000,
    );
    expect(status.lastSequence).toBe(2);
  });
});
