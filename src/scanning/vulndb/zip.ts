import yauzl from 'yauzl';

export interface RecordFile {
  name: string;
  text: string;
}

/** Larger entries are not OSV records (the biggest real ones are well under 1 MiB). */
const maxRecordBytes = 16 * 1024 * 1024;

export class NotAZipError extends Error {}

function open(file: string): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) =>
    yauzl.open(file, { lazyEntries: true, autoClose: false, validateEntrySizes: true }, (err, zip) =>
      err || !zip ? reject(new NotAZipError(`${file} is not a readable zip archive (${err?.message ?? 'no archive'})`)) : resolve(zip),
    ),
  );
}

function nextEntry(zip: yauzl.ZipFile): Promise<yauzl.Entry | null> {
  return new Promise((resolve, reject) => {
    const done = () => {
      zip.off('entry', onEntry);
      zip.off('end', onEnd);
      zip.off('error', onError);
    };
    const onEntry = (entry: yauzl.Entry) => (done(), resolve(entry));
    const onEnd = () => (done(), resolve(null));
    const onError = (err: Error) => (done(), reject(err));
    zip.on('entry', onEntry);
    zip.on('end', onEnd);
    zip.on('error', onError);
    zip.readEntry();
  });
}

async function readEntry(zip: yauzl.ZipFile, entry: yauzl.Entry): Promise<string> {
  const stream = await new Promise<NodeJS.ReadableStream>((resolve, reject) =>
    zip.openReadStream(entry, (err, s) => (err || !s ? reject(err ?? new Error('no stream')) : resolve(s))),
  );
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(chunk as Buffer);
  return Buffer.concat(parts).toString('utf8');
}

/**
 * The `*.json` entries of a zip archive on disk, one at a time: the central directory is read
 * from the file and each entry inflated only when asked for, so an archive of hundreds of
 * megabytes never sits in memory. An entry that cannot be read comes back as an Error.
 */
export async function* zipRecordFiles(file: string): AsyncGenerator<RecordFile | { name: string; error: Error }> {
  const zip = await open(file);
  try {
    for (;;) {
      const entry = await nextEntry(zip);
      if (entry === null) return;
      if (entry.fileName.endsWith('/') || !entry.fileName.endsWith('.json')) continue;
      if (entry.uncompressedSize > maxRecordBytes) {
        yield { name: entry.fileName, error: new Error(`larger than ${maxRecordBytes} bytes`) };
        continue;
      }
      try {
        yield { name: entry.fileName, text: await readEntry(zip, entry) };
      } catch (err) {
        yield { name: entry.fileName, error: err as Error };
      }
    }
  } finally {
    zip.close();
  }
}
