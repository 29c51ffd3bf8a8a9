/**
 * A bounded queue of chunks from one writer (the tee) to one reader (the blob store's append),
 * read as an AsyncIterable. Each chunk is handed on as it was written: unlike a PassThrough read
 * through its async iterator, nothing is joined into a new buffer (a copy and an allocation per
 * read). `write` answers false once `limit` bytes wait unread; `room()` settles when the reader
 * has taken them below the limit again (or the channel is closed), so the writer keeps
 * backpressure and never holds more than about `limit` bytes.
 */
export class ChunkChannel implements AsyncIterable<Uint8Array> {
  private readonly chunks: Uint8Array[] = [];
  private head = 0;
  private queued = 0;
  private ended = false;
  private failure: Error | null = null;
  private closed = false;
  private wakeReader: (() => void) | null = null;
  private wakeWriter: (() => void) | null = null;

  constructor(private readonly limit: number) {}

  /** True once the reader stopped (finished, failed or gave up) or the channel was destroyed. */
  get destroyed(): boolean {
    return this.closed || this.failure !== null;
  }

  get writableEnded(): boolean {
    return this.ended;
  }

  /** Queues a chunk; false when the queue is at its limit (wait for `room()` before the next). */
  write(chunk: Uint8Array): boolean {
    if (this.ended || this.destroyed) return true;
    this.chunks.push(chunk);
    this.queued += chunk.byteLength;
    this.wake();
    return this.queued < this.limit;
  }

  /** Settles once fewer than `limit` bytes wait, or the channel closed. */
  room(): Promise<void> {
    if (this.queued < this.limit || this.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      const previous = this.wakeWriter;
      this.wakeWriter = () => {
        previous?.();
        resolve();
      };
    });
  }

  /** No more chunks: the reader ends after the queued ones. */
  end(): void {
    this.ended = true;
    this.wake();
  }

  /** Fails the reader with `err` (nothing more is read); a writer waiting for room is released. */
  destroy(err?: Error): void {
    if (!this.failure) this.failure = err ?? new Error('the channel was closed');
    this.chunks.length = 0;
    this.head = 0;
    this.queued = 0;
    this.wake();
    this.releaseWriter();
  }

  private wake(): void {
    const reader = this.wakeReader;
    this.wakeReader = null;
    reader?.();
  }

  private releaseWriter(): void {
    const writer = this.wakeWriter;
    this.wakeWriter = null;
    writer?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    try {
      for (;;) {
        if (this.failure) throw this.failure;
        if (this.head < this.chunks.length) {
          const chunk = this.chunks[this.head]!;
          this.chunks[this.head++] = undefined as unknown as Uint8Array;
          if (this.head > 1024 && this.head * 2 > this.chunks.length) {
            this.chunks.splice(0, this.head);
            this.head = 0;
          }
          this.queued -= chunk.byteLength;
          if (this.queued < this.limit) this.releaseWriter();
          yield chunk;
          continue;
        }
        if (this.ended) return;
        await new Promise<void>((resolve) => (this.wakeReader = resolve));
      }
    } finally {
      // The reader is done (or gave up): a writer must not wait for it.
      this.closed = true;
      this.releaseWriter();
    }
  }
}
