/**
 * Reads an async iterable ahead of its consumer into a bounded buffer, so Resource Graph pages keep arriving while
 * Port is being read or written. Memory stays bounded by `capacity` items; the producer pauses when it is full.
 */
export interface Prefetched<T> extends AsyncIterable<T> {
  /** Stops reading ahead (the source's iterator is returned). Safe to call more than once. */
  close(): Promise<void>;
}

export function prefetch<T>(source: AsyncIterable<T>, capacity: number): Prefetched<T> {
  if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`prefetch capacity must be ≥ 1, got ${capacity}`);
  const buffer: T[] = [];
  let done = false;
  let failure: { error: unknown } | undefined;
  let closed = false;
  let wakeConsumer: (() => void) | undefined;
  let wakeProducer: (() => void) | undefined;
  const iterator = source[Symbol.asyncIterator]();

  const producer = (async () => {
    try {
      while (!closed) {
        while (buffer.length >= capacity && !closed) await new Promise<void>((r) => (wakeProducer = r));
        if (closed) break;
        const next = await iterator.next();
        if (next.done) break;
        buffer.push(next.value);
        wakeConsumer?.();
      }
    } catch (error) {
      failure = { error };
    } finally {
      done = true;
      wakeConsumer?.();
    }
  })();

  const close = async () => {
    if (closed) return;
    closed = true;
    wakeProducer?.();
    await producer;
    // The source may hold open requests; ending it lets them go. Errors here change nothing for the run.
    await iterator.return?.().catch(() => undefined);
  };

  return {
    close,
    async *[Symbol.asyncIterator]() {
      try {
        for (;;) {
          if (buffer.length > 0) {
            const item = buffer.shift()!;
            wakeProducer?.();
            yield item;
            continue;
          }
          if (failure) throw failure.error;
          if (done) return;
          await new Promise<void>((r) => (wakeConsumer = r));
        }
      } finally {
        await close();
      }
    },
  };
}
