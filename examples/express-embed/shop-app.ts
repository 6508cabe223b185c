import { randomUUID } from "node:crypto";
import express, { type Express, type NextFunction, type Request, type Response } from "express";
import { type StreamsClient, StreamsError } from "streamkit-ts/client";

/** Where the shop keeps its orders: one segment per order in the "orders" space of one store. */
export interface OrderLog {
  client: StreamsClient;
  storeId: string;
}

interface NewOrder {
  item: string;
  quantity: number;
}

function parseOrder(body: unknown): NewOrder | undefined {
  if (typeof body !== "object" || body === null) return undefined;
  const { item, quantity } = body as { item?: unknown; quantity?: unknown };
  if (typeof item !== "string" || item.length === 0) return undefined;
  if (typeof quantity !== "number" || !Number.isSafeInteger(quantity) || quantity < 1) return undefined;
  return { item, quantity };
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * An existing Express app with its own routes. The only Streamkit code is the order log: an order
 * is a segment, each change an entry, published at the segment's next sequence.
 */
export function createShopApp({ client, storeId }: OrderLog): Express {
  const app = express();
  app.use(express.json());

  app.get("/health", (_request, response) => {
    response.json({ ok: true });
  });

  app.post("/orders", async (request, response) => {
    const order = parseOrder(request.body);
    if (order === undefined) {
      response.status(400).json({ error: "expected { item: string, quantity: positive integer }" });
      return;
    }
    const orderId = `order-${randomUUID().slice(0, 8)}`;
    const payload = encoder.encode(JSON.stringify({ type: "created", ...order }));
    const status = await client.publish(storeId, "orders", orderId, payload, { metadata: { source: "http" } });
    response.status(201).json({ orderId, sequence: status.lastSequence });
  });

  app.post("/orders/:orderId/payment", async (request, response) => {
    const { orderId } = request.params;
    // The newest entry of the segment; sequence 0 means it has none, so there is no such order.
    const latest = await client.peek(storeId, "orders", orderId);
    if (latest.sequence === 0) {
      response.status(404).json({ error: "no such order" });
      return;
    }
    const status = await client.publish(storeId, "orders", orderId, encoder.encode(JSON.stringify({ type: "paid" })));
    response.status(201).json({ orderId, sequence: status.lastSequence });
  });

  // The order's history, read back from its segment.
  app.get("/orders/:orderId", async (request, response) => {
    const events: unknown[] = [];
    for await (const entry of client.consumeSegment(storeId, { space: "orders", segment: request.params.orderId })) {
      events.push({ sequence: entry.sequence, at: new Date(entry.timestamp).toISOString(), ...(JSON.parse(decoder.decode(entry.payload)) as object) });
    }
    if (events.length === 0) response.status(404).json({ error: "no such order" });
    else response.json({ orderId: request.params.orderId, events });
  });

  // Streamkit failures carry a stable kind: a bad order id is the caller's mistake, the rest is ours.
  app.use((error: unknown, _request: Request, response: Response, next: NextFunction) => {
    if (response.headersSent) {
      next(error);
      return;
    }
    const badInput = error instanceof StreamsError && error.kind === "invalid_argument";
    response.status(badInput ? 400 : 500).json({ error: error instanceof Error ? error.message : String(error) });
  });

  return app;
}
