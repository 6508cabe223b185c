/** Signals that ask the server to stop. */
export const STOP_SIGNALS: readonly NodeJS.Signals[] = ["SIGINT", "SIGTERM"];

export interface SignalWatch extends Disposable {
  /** Resolves with the oldest stop signal not yet taken, waiting for one if none arrived. */
  next(): Promise<NodeJS.Signals>;
}

/**
 * Catches SIGINT and SIGTERM until disposed, so a signal during startup is not lost and a second
 * signal reaches the program instead of killing it with the default handler.
 */
export function watchStopSignals(): SignalWatch {
  const received: NodeJS.Signals[] = [];
  const waiting: ((signal: NodeJS.Signals) => void)[] = [];
  const onSignal = (signal: NodeJS.Signals): void => {
    const resolve = waiting.shift();
    if (resolve === undefined) received.push(signal);
    else resolve(signal);
  };
  for (const signal of STOP_SIGNALS) process.on(signal, onSignal);
  return {
    next() {
      const signal = received.shift();
      return signal === undefined ? new Promise((resolve) => waiting.push(resolve)) : Promise.resolve(signal);
    },
    [Symbol.dispose]() {
      for (const signal of STOP_SIGNALS) process.off(signal, onSignal);
    },
  };
}
