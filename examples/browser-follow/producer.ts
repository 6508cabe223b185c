import { setTimeout as sleep } from "node:timers/promises";
import type { StreamsClient } from "streamkit-ts/client";

const SYMBOLS = ["BTC", "ETH", "SOL"];
const encoder = new TextEncoder();

export interface Producer {
  /** Ticks published so far; tick `n` carries `n` in its payload. */
  readonly published: number;
  /** Stops publishing and waits for the loop to end. */
  stop(): Promise<void>;
}

/** Publishes a price tick to the space every `everyMs`, round-robin over a few symbols (one segment each). */
export function startProducer(client: StreamsClient, storeId: string, space: string, everyMs: number): Producer {
  const stopping = new AbortController();
  const prices = new Map(SYMBOLS.map((symbol, i) => [symbol, 100 * (i + 1)]));
  let published = 0;
  const loop = (async () => {
    while (!stopping.signal.aborted) {
      const symbol = SYMBOLS[published % SYMBOLS.length]!;
      const price = prices.get(symbol)! * (1 + (Math.random() - 0.5) / 50);
      prices.set(symbol, price);
      const tick = { n: published + 1, symbol, price };
      await client.publish(storeId, space, symbol, encoder.encode(JSON.stringify(tick)), { signal: stopping.signal });
      published = tick.n;
      await sleep(everyMs, undefined, { signal: stopping.signal }).catch(() => undefined);
    }
  })().catch((error: unknown) => {
    if (!stopping.signal.aborted) throw error;
  });
  return {
    get published() {
      return published;
    },
    stop: async () => {
      stopping.abort();
      await loop;
    },
  };
}
