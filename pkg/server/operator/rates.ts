import type { TrafficTotals } from "../metrics/activity.js";

export interface TrafficRates {
  entriesProducedPerSec: number;
  bytesProducedPerSec: number;
  entriesConsumedPerSec: number;
  bytesConsumedPerSec: number;
}

interface Sample {
  at: number;
  instance: TrafficTotals;
  stores: Map<string, TrafficTotals>;
}

const ZERO: TrafficTotals = { entriesProduced: 0, bytesProduced: 0, entriesConsumed: 0, bytesConsumed: 0 };
const ZERO_RATES: TrafficRates = { entriesProducedPerSec: 0, bytesProducedPerSec: 0, entriesConsumedPerSec: 0, bytesConsumedPerSec: 0 };

/** Per-second rates between two samples of cumulative totals, one decimal; never negative (a forgotten store restarts at 0). */
function ratesBetween(older: TrafficTotals, newer: TrafficTotals, seconds: number): TrafficRates {
  const rate = (key: keyof TrafficTotals) => Math.max(0, Math.round(((newer[key] - older[key]) / seconds) * 10) / 10);
  return {
    entriesProducedPerSec: rate("entriesProduced"),
    bytesProducedPerSec: rate("bytesProduced"),
    entriesConsumedPerSec: rate("entriesConsumed"),
    bytesConsumedPerSec: rate("bytesConsumed"),
  };
}

/**
 * Rates over a sliding window from cumulative counters sampled at intervals: the difference between
 * the newest sample and the oldest one still within `windowMs`, over the time between them.
 */
export class RateWindow {
  readonly windowMs: number;
  readonly #samples: Sample[] = [];

  constructor(windowMs: number) {
    this.windowMs = windowMs;
  }

  sample(at: number, instance: TrafficTotals, stores: Map<string, TrafficTotals>): void {
    this.#samples.push({ at, instance: { ...instance }, stores });
    // Keep the newest sample at or before the window's start, so the window is covered whole.
    while (this.#samples.length > 2 && (this.#samples[1]?.at ?? at) <= at - this.windowMs) this.#samples.shift();
  }

  instance(): TrafficRates {
    const span = this.#span();
    return span === undefined ? ZERO_RATES : ratesBetween(span.oldest.instance, span.newest.instance, span.seconds);
  }

  /** Rates of every store seen in the window (a store that was quiet throughout has all zeros). */
  stores(): Map<string, TrafficRates> {
    const span = this.#span();
    const rates = new Map<string, TrafficRates>();
    if (span === undefined) return rates;
    for (const [storeId, newer] of span.newest.stores) {
      rates.set(storeId, ratesBetween(span.oldest.stores.get(storeId) ?? ZERO, newer, span.seconds));
    }
    return rates;
  }

  #span(): { oldest: Sample; newest: Sample; seconds: number } | undefined {
    const oldest = this.#samples[0];
    const newest = this.#samples.at(-1);
    if (oldest === undefined || newest === undefined || newest.at <= oldest.at) return undefined;
    return { oldest, newest, seconds: (newest.at - oldest.at) / 1000 };
  }
}
