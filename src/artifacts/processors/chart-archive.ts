import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { extract } from 'tar-stream';

const maxFileBytes = 1 << 20;

/**
 * Reads the named top-level chart files (`<chart>/values.yaml`, …) out of a chart's
 * .tgz. Names match case-insensitively; files over 1 MiB are skipped.
 */
export async function chartFiles(archive: Buffer, wanted: readonly string[]): Promise<Map<string, string>> {
  const lower = new Set(wanted.map((w) => w.toLowerCase()));
  const found = new Map<string, string>();
  const tar = extract();
  const done = new Promise<void>((resolve, reject) => {
    tar.on('entry', (header, stream, next) => {
      // A truncated archive destroys the entry in flight with the error; unheard, it would be uncaught.
      stream.on('error', reject);
      const parts = header.name.split('/');
      const name = parts.length === 2 ? parts[1].toLowerCase() : '';
      if (header.type === 'file' && lower.has(name) && !found.has(name) && (header.size ?? 0) <= maxFileBytes) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: unknown) => chunks.push(c as Buffer));
        stream.on('end', () => {
          found.set(name, Buffer.concat(chunks).toString('utf8'));
          next();
        });
      } else {
        stream.on('end', next);
        stream.resume();
      }
    });
    tar.on('finish', resolve);
    tar.on('error', reject);
  });
  const gunzip = createGunzip();
  gunzip.on('error', (err) => tar.destroy(err));
  Readable.from([archive]).pipe(gunzip).pipe(tar);
  await done;
  return found;
}
