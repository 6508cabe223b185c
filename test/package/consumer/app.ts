// A client-only application as a user writes it, type-checked strictly (no skipLibCheck) against the
// installed package and run against a server: test/package/pack.test.ts.
import { createClient, createWsProvider, StreamsError, type Entry } from "streamkit-ts";
import type { SegmentStatus } from "streamkit-ts/api";
import { createClient as createClientAgain } from "streamkit-ts/client";
import { createWsProvider as createNodeProvider } from "streamkit-ts/transport/ws/client";

const [url, token, storeId] = process.argv.slice(2);
if (url === undefined || token === undefined || storeId === undefined) throw new TypeError("usage: app.js <url> <token> <storeId>");
if (createClientAgain !== createClient || createNodeProvider !== createWsProvider) throw new Error("subpaths and root differ");

const client = createClient(createWsProvider(url, { token }));
try {
  const statuses: SegmentStatus[] = await client.produce(storeId, "orders", "order-1", [
    { sequence: 1, payload: new TextEncoder().encode("created") },
    { sequence: 2, payload: new TextEncoder().encode("paid") },
  ]);
  const entries: Entry[] = [];
  for await (const entry of client.consumeSegment(storeId, { space: "orders", segment: "order-1" })) entries.push(entry);
  const conflict = await client.produce(storeId, "orders", "order-1", [{ sequence: 1, payload: new Uint8Array() }]).then(
    () => "none",
    (error: unknown) => (error instanceof StreamsError ? error.kind : "other"),
  );
  console.log(JSON.stringify({ last: statuses.at(-1)?.lastSequence, payloads: entries.map((e) => new TextDecoder().decode(e.payload)), conflict }));
} finally {
  await client.close();
}
