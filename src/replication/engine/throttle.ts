import { Transform, type TransformCallback } from 'node:stream';

/** Pieces a paced stream passes at a time, so that a large read does not go out in one burst. */
const sliceBytes = 16 * 1024;

/**
 * A token bucket shared by every blob stream of one task: at most `bytesPerSecond` on
 * average, with a burst of at most one second. Harbor's `speed` is KB/s per task.
 */
export class Throttle {
  private tokens: number;
  private last = Date.now();

  constructor(readonly bytesPerSecond: number) {
    this.tokens = Math.min(bytesPerSecond, sliceBytes);
  }

  /** Takes `bytes` from the bucket, waiting as long as the bucket is in debt. */
  async take(bytes: number, signal?: AbortSignal): Promise<void> {
    const now = Date.now();
    this.tokens = Math.min(this.bytesPerSecond, this.tokens + ((now - this.last) / 1000) * this.bytesPerSecond);
    this.last = now;
    this.tokens -= bytes;
    if (this.tokens >= 0) return;
    const wait = Math.ceil((-this.tokens / this.bytesPerSecond) * 1000);
    signal?.throwIfAborted();
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', abort);
        resolve();
      }, wait);
      const abort = () => {
        clearTimeout(timer);
        reject(signal!.reason);
      };
      signal?.addEventListener('abort', abort, { once: true });
    });
  }

  /** A pass-through stream paced by this bucket. */
  stream(signal?: AbortSignal): Transform {
    const paced: Transform = new Transform({
      transform: (chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) => {
        void (async () => {
          try {
            for (let offset = 0; offset < chunk.length; offset += sliceBytes) {
              const slice = chunk.subarray(offset, offset + sliceBytes);
              await this.take(slice.length, signal);
              paced.push(slice);
            }
            callback();
          } catch (err) {
            callback(err as Error);
          }
        })();
      },
    });
    return paced;
  }
}

/** Harbor's `speed` (KB/s; 0 or -1 unlimited) as a throttle, or null. */
export function throttleFor(speedKBps: number): Throttle | null {
  return speedKBps > 0 ? new Throttle(speedKBps * 1024) : null;
}
