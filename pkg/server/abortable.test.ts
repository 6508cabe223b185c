import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, expect, it, vi } from "vitest";
import { deadline } from "./abortable.js";

/** Full garbage collections between turns of the event loop, as a busy server runs them while a long-poll waits. */
async function collectGarbage(): Promise<void> {
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  for (let i = 0; i < 5; i++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe("deadline", () => {
  it("aborts at its time with a TimeoutError, and with the parent's reason if the parent goes first", () => {
    vi.useFakeTimers();
    try {
      const timed = deadline(new AbortController().signal, 1_000);
      vi.advanceTimersByTime(999);
      expect(timed.signal.aborted).toBe(false);
      vi.advanceTimersByTime(1);
      expect((timed.signal.reason as DOMException).name).toBe("TimeoutError");

      const parent = new AbortController();
      const early = deadline(parent.signal, 1_000);
      parent.abort("client left");
      expect(early.signal.reason).toBe("client left");
      early.dispose();
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it("treats Infinity and delays past the timer range as no deadline", () => {
    vi.useFakeTimers();
    try {
      for (const ms of [Infinity, 2 ** 31]) {
        const none = deadline(new AbortController().signal, ms);
        vi.advanceTimersByTime(2 ** 31 + 1);
        expect(none.signal.aborted).toBe(false);
      }
    } finally {
      vi.useRealTimers();
    }
  });

  // On Node 20, AbortSignal.any over AbortSignal.timeout never fired once collected: a long-poll hung.
  it("fires after garbage collection while only its listener holds it", async () => {
    const parent = new AbortController();
    const fired = new Promise<string>((resolve) => {
      deadline(parent.signal, 20).signal.addEventListener("abort", () => resolve("fired"), { once: true });
    });
    await collectGarbage();
    let bound: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<string>((resolve) => {
      bound = setTimeout(() => resolve("never fired"), 10_000);
    });
    try {
      expect(await Promise.race([fired, gaveUp])).toBe("fired");
    } finally {
      clearTimeout(bound);
    }
  });
});
