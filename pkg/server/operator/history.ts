/** Per-second rates over one history interval (docs/operator.md, `/api/status/history`). */
export interface HistorySample {
  /** Ms since epoch at the interval's end. */
  at: number;
  /** Entries produced, entries consumed and streams ended with an error, per second. */
  produced: number;
  consumed: number;
  errors: number;
}

/** Cumulative counters the history is sampled from. */
export interface HistoryTotals {
  entriesProduced: number;
  entriesConsumed: number;
  errors: number;
}

export interface RateHistoryAnswer {
  intervalMs: number;
  windowMs: number;
  /** Oldest first. */
  samples: HistorySample[];
}

const perSecond = (delta: number, seconds: number): number => Math.max(0, Math.round((delta / seconds) * 10) / 10);

/**
 * The last `windowMs` of rates, one sample per interval, so the dashboard's charts start full rather
 * than empty when a page opens. A ring of windowMs / intervalMs samples: its memory never grows.
 */
export class RateHistory {
  readonly intervalMs: number;
  readonly windowMs: number;
  readonly #ring: (HistorySample | undefined)[];
  /** Where the next sample goes. */
  #next = 0;
  #last: { at: number; totals: HistoryTotals } | undefined;

  constructor(intervalMs: number, windowMs: number) {
    this.intervalMs = intervalMs;
    this.windowMs = windowMs;
    this.#ring = new Array<HistorySample | undefined>(Math.max(1, Math.ceil(windowMs / intervalMs)));
  }

  /** Records the rates since the previous call (the first call only sets the baseline). */
  sample(at: number, totals: HistoryTotals): void {
    const previous = this.#last;
    this.#last = { at, totals: { ...totals } };
    if (previous === undefined || at <= previous.at) return;
    const seconds = (at - previous.at) / 1000;
    this.#ring[this.#next] = {
      at,
      produced: perSecond(totals.entriesProduced - previous.totals.entriesProduced, seconds),
      consumed: perSecond(totals.entriesConsumed - previous.totals.entriesConsumed, seconds),
      errors: perSecond(totals.errors - previous.totals.errors, seconds),
    };
    this.#next = (this.#next + 1) % this.#ring.length;
  }

  /** The samples within the window before `now`, oldest first. */
  answer(now = Date.now()): RateHistoryAnswer {
    const samples: HistorySample[] = [];
    for (let i = 0; i < this.#ring.length; i++) {
      const sample = this.#ring[(this.#next + i) % this.#ring.length];
      if (sample !== undefined && sample.at > now - this.windowMs) samples.push(sample);
    }
    return { intervalMs: this.intervalMs, windowMs: this.windowMs, samples };
  }
}
