/** The part of a Node stream that batches writes. */
export interface Corkable {
  cork(): void;
  uncork(): void;
}

/**
 * Returns a function to call before each write: the first call in a tick corks `stream` and
 * uncorks it once the tick's synchronous work and microtasks are done, so every frame written in one
 * burst leaves in one system call instead of one each.
 */
export function tickCorker(stream: Corkable): () => void {
  let corked = false;
  const uncork = () => {
    corked = false;
    stream.uncork();
  };
  return () => {
    if (corked) return;
    corked = true;
    stream.cork();
    process.nextTick(uncork);
  };
}
