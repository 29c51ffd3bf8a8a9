import type { Readable } from 'node:stream';
import type { Extract } from 'tar-stream';

/**
 * Writes tar bytes into a tar-stream extractor with backpressure, ending it at the end of the
 * bytes; an error reading them destroys the extractor with that error. Stops early when the
 * extractor was destroyed (its reader gave up).
 */
export async function feedExtractor(tar: Readable, entries: Extract): Promise<void> {
  try {
    for await (const chunk of tar) {
      if (!entries.write(chunk as Buffer)) {
        await new Promise<void>((resolve) => {
          const go = () => {
            entries.off('drain', go);
            entries.off('close', go);
            resolve();
          };
          entries.on('drain', go);
          entries.on('close', go);
        });
      }
      if (entries.destroyed) return;
    }
    entries.end(undefined);
  } catch (err) {
    entries.destroy(err as Error);
  }
}
