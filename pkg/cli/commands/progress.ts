const REDRAW_MS = 250;
const CLEAR_LINE = "\r\u001b[K";
const numbers = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

export interface Progress {
  /** Counts `n` more records sent. */
  add(n: number): void;
  /** Draws the last figures and ends the line; idempotent. */
  end(): void;
}

const NO_PROGRESS: Progress = { add: () => undefined, end: () => undefined };

/**
 * A progress line on stderr (`sent 12,000 records, 4,100 records/s`), redrawn in place a few times
 * a second, only when stderr is a terminal.
 */
export function startProgress(stderr: NodeJS.WriteStream, verb: string): Progress {
  if (!stderr.isTTY) return NO_PROGRESS;
  const started = performance.now();
  let count = 0;
  const draw = (): void => {
    const seconds = (performance.now() - started) / 1000;
    const rate = seconds > 0 ? count / seconds : 0;
    stderr.write(`${CLEAR_LINE}${verb}: sent ${numbers.format(count)} records, ${numbers.format(rate)} records/s`);
  };
  const timer = setInterval(draw, REDRAW_MS);
  timer.unref();
  let ended = false;
  return {
    add(n) {
      count += n;
    },
    end() {
      if (ended) return;
      ended = true;
      clearInterval(timer);
      draw();
      stderr.write("\n");
    },
  };
}
