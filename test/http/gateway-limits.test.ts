import { connect, type Socket } from "node:net";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { createNodeManager } from "../../pkg/server/index.js";
import { createMemoryStoreFactory } from "../../store/memory/index.js";
import { attachDurableStreams } from "../../transport/http/index.js";
import { bounded } from "../support/waits.js";
import { listen } from "../support/ws-raw-client.js";

/**
 * What the HTTP gateway holds at once is bounded over all requests (docs/limits.md): the bytes of
 * request bodies (`maxPendingBodyBytes`: clients that send bodies and never finish them cannot make
 * the server hold more; past it 429) and the requests themselves (`maxRequests`: long-poll and SSE
 * reads hold a client and streams; past it 503). What a request held is given back once it is answered.
 */
const BUDGET = 1024 * 1024;
const PART = 300 * 1024; // held twice while a body is joined: two requests' parts are over the budget
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function start() {
  const http = await listen();
  const manager = createNodeManager({ storeFactory: createMemoryStoreFactory(), idleEviction: false });
  const gateway = attachDurableStreams(http.server, { manager, maxPendingBodyBytes: BUDGET });
  cleanups.push(async () => {
    gateway.close();
    await manager.close();
    await http.close();
  });
  const { port } = http.server.address() as AddressInfo;
  return { port, url: `http://127.0.0.1:${port}/v1/stream/budget` };
}

/** An append whose headers promise `declared` bytes, of which `sent` are sent now; `finish()` sends the rest. */
function partialAppend(port: number, declared: number, sent: number) {
  const socket: Socket = connect(port, "127.0.0.1");
  socket.on("error", () => undefined);
  let answer = "";
  const answered = new Promise<string>((resolve) => {
    socket.setEncoding("latin1").on("data", (chunk: string) => {
      answer += chunk;
      if (answer.includes("\r\n\r\n")) resolve(answer.split("\r\n")[0] ?? "");
    });
    socket.once("close", () => resolve(answer.split("\r\n")[0] ?? "closed"));
  });
  socket.write(`POST /v1/stream/budget HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: ${declared}\r\n\r\n`);
  socket.write(Buffer.alloc(sent, 7));
  cleanups.push(async () => void socket.destroy());
  return { answered, finish: () => socket.write(Buffer.alloc(declared - sent, 7)) };
}

describe("request bodies the gateway holds", () => {
  it("refuses a request past the budget while others hold it, and gives back what an answered request held", async () => {
    const { port, url } = await start();
    expect((await fetch(url, { method: "PUT", headers: { "content-type": "application/octet-stream" } })).status).toBe(201);

    const one = partialAppend(port, PART + 10, PART);
    const two = partialAppend(port, PART + 10, PART);
    // Neither body is finished: whichever the server read second is over the budget.
    const first = await bounded(Promise.race([one.answered.then((line) => ({ which: one, other: two, line })), two.answered.then((line) => ({ which: two, other: one, line }))]), "one append to be refused");
    expect(first.line).toBe("HTTP/1.1 429 Too Many Requests");

    first.other.finish();
    expect(await bounded(first.other.answered, "the other append's answer")).toBe("HTTP/1.1 204 No Content");
    // What both held is given back: a body that would not have fit beside them is taken now.
    const after = await fetch(url, { method: "POST", headers: { "content-type": "application/octet-stream" }, body: Buffer.alloc(PART, 1) });
    expect(after.status).toBe(204);
    expect(after.headers.get("stream-next-offset")).toBe("0000000000000000_0000000000000002");
  });
});

describe("requests the gateway serves at once", () => {
  it("refuses a request past maxRequests with 503 while SSE reads hold the others, and serves again once one ends", async () => {
    const http = await listen();
    const manager = createNodeManager({ storeFactory: createMemoryStoreFactory(), idleEviction: false });
    const gateway = attachDurableStreams(http.server, { manager, maxRequests: 2 });
    cleanups.push(async () => {
      gateway.close();
      await manager.close();
      await http.close();
    });
    const { port } = http.server.address() as AddressInfo;
    const url = `http://127.0.0.1:${port}/v1/stream/held`;
    expect((await fetch(url, { method: "PUT", headers: { "content-type": "text/plain" } })).status).toBe(201);

    const readers = [new AbortController(), new AbortController()];
    const reads = await Promise.all(readers.map((reader) => fetch(`${url}?offset=-1&live=sse`, { signal: reader.signal })));
    expect(reads.map((read) => read.status)).toEqual([200, 200]);
    const refused = await fetch(`${url}?offset=-1`);
    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).toBe("1");

    readers[0]?.abort();
    // The server counts the read as ended once its response closes: a bounded retry sees the slot free.
    const served = await bounded(
      (async () => {
        for (;;) {
          const answer = await fetch(`${url}?offset=-1`);
          if (answer.status !== 503) return answer.status;
          await new Promise((resolve) => setImmediate(resolve));
        }
      })(),
      "a request served after one SSE read ended",
    );
    expect(served).toBe(200);
    readers[1]?.abort();
  });
});
