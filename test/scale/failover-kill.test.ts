import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient, type StreamsClient } from "../../pkg/client/index.js";
import { createWsProvider } from "../../transport/ws/index.js";
import { DialRecorder } from "../live/failover-recorder.js";
import { expectCleanFailover, followAndPublishThroughLoss } from "../live/failover-scenario.js";
import { postgres, redis, skipping } from "../support/services.js";
import { Cluster } from "./cluster.js";

const skip = skipping(postgres, "client failover kill test") || skipping(redis, "client failover kill test");

/** Dial timeout of the client: the longest a dial to a hung instance may hold the client back. */
const DIAL_TIMEOUT_MS = 2_000;

// Three real `streamkit serve` processes over one PostgreSQL schema and one Redis bus prefix; a client
// given all three addresses follows a segment and publishes; the instance it is on gets SIGKILL.
describe.skipIf(skip)("client failover: SIGKILL of the instance in use (three serve processes, PostgreSQL + Redis)", () => {
  let cluster: Cluster;
  let client: StreamsClient | undefined;

  beforeAll(async () => {
    cluster = new Cluster({ postgresUrl: postgres.url ?? "", adminPostgresUrl: postgres.url ?? "", bus: { kind: "redis", url: redis.url ?? "" } });
    await Promise.all([cluster.start(), cluster.start(), cluster.start()]);
  }, 120_000);

  afterAll(async () => {
    await client?.close();
    await cluster?.[Symbol.asyncDispose]();
  }, 60_000);

  it("the follow goes on through another instance with every entry once; publishes in flight fail only with unavailable", async () => {
    const log = new DialRecorder();
    const retry = { initialDelayMs: 50, maxDelayMs: 1_000 };
    const urls = cluster.instances.map((instance) => instance.wsUrl);
    client = createClient(createWsProvider(urls, { token: () => cluster.token(), logger: log, retry, connectTimeoutMs: DIAL_TIMEOUT_MS }), { retry });

    const run = await followAndPublishThroughLoss({
      client,
      log,
      storeId: randomUUID(),
      publishers: 4,
      before: 50,
      after: 50,
      stopInstance: async (url) => {
        const victim = cluster.instances.find((instance) => instance.wsUrl === url);
        if (victim === undefined) throw new Error(`no instance at ${url}`);
        await cluster.kill(victim);
        expect(victim.process.child.signalCode).toBe("SIGKILL");
      },
    });
    expectCleanFailover(run, 400);
    expect(urls).toContain(run.urlAfter);
    expect(client.state).toMatchObject({ status: "connected", reconnects: 1 });
    console.info(
      `failover kill test: ${run.acknowledged} publishes acknowledged, ${run.failed.length} failed with unavailable, ` +
        `head ${run.head}, follow delivered ${run.followed.length} (each once), ${run.urlBefore} → ${run.urlAfter}, ` +
        `dials after the kill: ${JSON.stringify(run.dialsAfterLoss)}`,
    );
  }, 120_000);
});
