import { describe, expect, it } from "vitest";
import { RateHistory } from "./history.js";

const totals = (entriesProduced: number, entriesConsumed = 0, errors = 0) => ({ entriesProduced, entriesConsumed, errors });

describe("RateHistory", () => {
  it("keeps per-second rates of the last window / interval samples, oldest first", () => {
    const history = new RateHistory(1_000, 3_000);
    history.sample(10_000, totals(0));
    expect(history.answer(10_000).samples).toEqual([]);
    history.sample(11_000, totals(5, 2, 1));
    history.sample(13_000, totals(25, 2, 1));
    history.sample(14_000, totals(25, 12, 4));
    history.sample(15_000, totals(26, 12, 4));
    expect(history.answer(15_000)).toEqual({
      intervalMs: 1_000,
      windowMs: 3_000,
      samples: [
        { at: 13_000, produced: 10, consumed: 0, errors: 0 },
        { at: 14_000, produced: 0, consumed: 10, errors: 3 },
        { at: 15_000, produced: 1, consumed: 0, errors: 0 },
      ],
    });
  });

  it("leaves out samples older than the window, and never reports a negative rate", () => {
    const history = new RateHistory(1_000, 3_000);
    history.sample(1_000, totals(10));
    history.sample(2_000, totals(4));
    expect(history.answer(2_000).samples).toEqual([{ at: 2_000, produced: 0, consumed: 0, errors: 0 }]);
    expect(history.answer(5_000).samples).toEqual([]);
  });
});
