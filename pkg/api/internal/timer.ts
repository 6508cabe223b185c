/** A cancellable timeout; `unref` lets a Node process exit while only this timer is pending (browsers ignore it). */
export function startTimer(callback: () => void, delayMs: number, options: { unref: boolean }): () => void {
  const handle: unknown = setTimeout(callback, delayMs);
  if (options.unref && typeof handle === "object" && handle !== null && "unref" in handle && typeof handle.unref === "function") {
    (handle as { unref(): void }).unref();
  }
  return () => clearTimeout(handle as ReturnType<typeof setTimeout>);
}
