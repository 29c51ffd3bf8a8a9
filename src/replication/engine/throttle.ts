import { Transform, type TransformCallback } from 'node:stream';

/**
 * A token bucket shared by every blob stream of one task: at most `bytesPerSecond` on
 * average, with a burst of one second. Harbor's `speed` is KB/s per task.
 */
export class Throttle {
  private tokens: number;
  private last = Date.now();

  constructor(readonly bytesPerSecond: number) {
    this.tokens = bytesPerSecond;
  }

  /** Waits until `bytes` may pass. */
  async take(bytes: number, signal?: AbortSignal): Promise<void> {
    for (;;) {
      const now = Date.now();
      this.tokens = Math.min(this.bytesPerSecond, this.tokens + ((now - this.last) / 1000) * this.bytesPerSecond);
      this.last = now;
      if (this.tokens >= Math.min(bytes, this.bytesPerSecond)) {
        // A chunk larger than the bucket passes when the bucket is full, and leaves it in debt.
        this.tokens -= bytes;
        return;
      }
      const wait = Math.ceil(((Math.min(bytes, this.bytesPerSecond) - this.tokens) / this.bytesPerSecond) * 1000);
      signal?.throwIfAborted();
      await new Promise((resolve) => setTimeout(resolve, Math.max(1, Math.min(wait, 1000))));
    }
  }

  /** A pass-through stream paced by this bucket. */
  stream(signal?: AbortSignal): Transform {
    return new Transform({
      transform: (chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) => {
        this.take(chunk.length, signal).then(
          () => callback(null, chunk),
          (err: unknown) => callback(err as Error),
        );
      },
    });
  }
}

/** Harbor's `speed` (KB/s; 0 or -1 unlimited) as a throttle, or null. */
export function throttleFor(speedKBps: number): Throttle | null {
  return speedKBps > 0 ? new Throttle(speedKBps * 1024) : null;
}
