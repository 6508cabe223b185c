// Raw baseline: `ws` alone on loopback, same process, moving 200-byte records in messages of `batch` records.
//   upload:   client sends batches, server acks each, up to `window` batches in flight (the produce path's shape)
//   download: server streams batches to the client as fast as the socket drains (the consume path's shape)
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { WebSocket, WebSocketServer } from "ws";
import { payloadOf, perSecond, report } from "../harness.js";

const mode = process.argv[2] ?? "upload";
const [records = 100_000, batch = 100, window = 16] = process.argv.slice(3).map(Number);
const batches = Math.ceil(records / batch);
const message = new Uint8Array(batch * 200);
message.set(payloadOf(batch * 200, 1));

const http = createServer();
const wss = new WebSocketServer({ server: http });
await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
const { port } = http.address() as AddressInfo;

wss.on("connection", (socket) => {
  if (mode === "upload") {
    socket.on("message", () => socket.send(new Uint8Array(16)));
    return;
  }
  let sent = 0;
  const pump = () => {
    while (sent < batches && socket.bufferedAmount < 1024 * 1024) {
      socket.send(message);
      sent++;
    }
    if (sent < batches) setImmediate(pump);
  };
  pump();
});

const client = new WebSocket(`ws://127.0.0.1:${port}`);
let started = 0;
// Listen before the socket opens: the server starts streaming as soon as it accepts.
const done = new Promise<void>((resolve) => {
  let received = 0;
  let sent = 0;
  client.on("message", () => {
    received++;
    if (received === batches) resolve();
    else if (mode === "upload" && sent < batches) {
      client.send(message);
      sent++;
    }
  });
  client.once("open", () => {
    started = performance.now();
    if (mode === "upload") for (; sent < Math.min(window, batches); sent++) client.send(message);
  });
});
await done;
const elapsed = performance.now() - started;
client.close();
wss.close();
http.close();
report({ value: perSecond(batches * batch, elapsed), unit: "records/s", detail: `${mode}, ${batch} x 200 B per message` });
