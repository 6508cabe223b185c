import { randomBytes, randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient, type StreamsClient } from "../../pkg/client/index.js";
import { signToken } from "../../pkg/server/auth/index.js";
import { createWsProvider } from "../../transport/ws/index.js";
import { logEntry, runCli, type ServeProcess } from "../cli/child.js";
import { dropSchema, randomSchema } from "../support/pg-schema.js";

export interface ClusterOptions {
  /** PostgreSQL URL the instances use (possibly through a test's proxy). */
  postgresUrl: string;
  /** PostgreSQL URL the test itself uses to drop the schema afterwards (the direct one). */
  adminPostgresUrl: string;
  bus: { kind: "redis"; url: string } | { kind: "postgres" };
  /** More `serve` flags for every instance. */
  extraArgs?: readonly string[];
}

export interface Instance {
  readonly process: ServeProcess;
  /** `http://127.0.0.1:port` */
  readonly url: string;
  readonly wsUrl: string;
}

/**
 * Several real `streamkit serve` processes on 127.0.0.1 sharing one PostgreSQL schema of their own
 * and one bus channel prefix of their own, so that test files running at once never meet.
 */
export class Cluster implements AsyncDisposable {
  readonly schema = randomSchema("sk_scale");
  readonly channelPrefix = `streamkit-scale:${randomUUID()}:`;
  readonly secret = randomBytes(32).toString("hex");
  readonly instances: Instance[] = [];
  readonly #options: ClusterOptions;
  readonly #dirs: string[] = [];
  readonly #clients: StreamsClient[] = [];

  constructor(options: ClusterOptions) {
    this.#options = options;
  }

  /** Starts one more instance; resolves once it listens. */
  async start(): Promise<Instance> {
    const { postgresUrl, bus, extraArgs = [] } = this.#options;
    const dataDir = await mkdtemp(join(tmpdir(), "streamkit-scale-"));
    this.#dirs.push(dataDir);
    const busArgs = bus.kind === "redis" ? ["--bus", "redis", "--redis-url", bus.url] : ["--bus", "postgres"];
    const process = runCli(
      [
        "serve",
        ...["--port", "0", "--data-dir", dataDir, "--log-pretty", "false", "--jwt-secret", this.secret],
        ...["--store", "postgres", "--postgres-url", postgresUrl, "--postgres-schema", this.schema, "--postgres-pool-max", "4"],
        ...busArgs,
        ...["--bus-channel-prefix", this.channelPrefix],
        ...extraArgs,
      ],
      {},
    );
    const listening = await logEntry(process, "listening");
    const url = listening.url as string;
    const instance: Instance = { process, url, wsUrl: url.replace(/^http/, "ws") };
    this.instances.push(instance);
    return instance;
  }

  /** A token for every store and the operator endpoints. */
  token(): Promise<string> {
    return signToken({ secret: this.secret, scopes: ["streamkit::*", "streamkit::admin"], ttlSec: 3600 });
  }

  /** A client of `instance`, failing over to `others` in their order when it is gone. */
  client(instance: Instance, others: readonly Instance[] = []): StreamsClient {
    const urls = [instance, ...others].map(({ wsUrl }) => wsUrl);
    const client = createClient(createWsProvider(urls, { token: () => this.token(), randomize: false }));
    this.#clients.push(client);
    return client;
  }

  /** SIGKILL, as a crash. */
  async kill(instance: Instance): Promise<void> {
    if (instance.process.child.exitCode === null && instance.process.child.signalCode === null) instance.process.child.kill("SIGKILL");
    await instance.process.exit();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await Promise.all(this.#clients.map((client) => client.close().catch(() => undefined)));
    await Promise.all(this.instances.map((instance) => this.kill(instance)));
    await Promise.all(this.#dirs.map((dir) => rm(dir, { recursive: true, force: true })));
    await dropSchema(this.#options.adminPostgresUrl, this.schema);
  }
}
