import { open as fsOpen, type FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { inflateSync } from 'fflate';
import yauzl from 'yauzl';

export interface RecordFile {
  name: string;
  text: string;
}

/** Larger entries are not OSV records (the biggest real ones are well under 1 MiB). */
const maxRecordBytes = 16 * 1024 * 1024;

export class NotAZipError extends Error {}

const blockBytes = 1024 * 1024;
const cachedBlocks = 4;

/**
 * Reads the archive in blocks of 1 MiB, keeping the last few: yauzl's own reader issues two
 * small reads per central directory entry and a stream per entry, each a trip through the
 * thread pool, which made an archive of 100,000 records take minutes to list. Reading goes
 * through the central directory (at the end) and the entries (from the start) in order, so a
 * handful of blocks serve almost every read. Memory stays at a few MiB whatever the archive.
 */
class BlockReader extends yauzl.RandomAccessReader {
  private readonly blocks = new Map<number, Promise<Buffer>>();

  constructor(
    private readonly file: FileHandle,
    private readonly size: number,
  ) {
    super();
  }

  private block(index: number): Promise<Buffer> {
    let block = this.blocks.get(index);
    if (block) {
      this.blocks.delete(index);
    } else {
      const start = index * blockBytes;
      const length = Math.min(blockBytes, this.size - start);
      block = this.file.read(Buffer.alloc(length), 0, length, start).then((r) => r.buffer.subarray(0, r.bytesRead));
      if (this.blocks.size >= cachedBlocks) this.blocks.delete(this.blocks.keys().next().value!);
    }
    this.blocks.set(index, block);
    return block;
  }

  async range(start: number, end: number): Promise<Buffer> {
    const parts: Buffer[] = [];
    for (let index = Math.floor(start / blockBytes); index * blockBytes < end; index++) {
      const block = await this.block(index);
      const from = Math.max(start - index * blockBytes, 0);
      parts.push(block.subarray(from, Math.min(end - index * blockBytes, block.length)));
    }
    return parts.length === 1 ? parts[0] : Buffer.concat(parts);
  }

  override read(buffer: Buffer, offset: number, length: number, position: number, callback: (err: Error | null) => void): void {
    this.range(position, position + length).then(
      (data) => {
        if (data.length < length) return callback(new Error('unexpected end of the archive'));
        data.copy(buffer, offset);
        callback(null);
      },
      (err: Error) => callback(err),
    );
  }

  override _readStreamForRange(start: number, end: number): Readable {
    const range = () => this.range(start, end);
    return Readable.from(
      (async function* () {
        yield await range();
      })(),
    );
  }

  override close(callback: (err: Error | null) => void): void {
    this.file.close().then(
      () => callback(null),
      (err: Error) => callback(err),
    );
  }
}

async function open(file: string): Promise<{ zip: yauzl.ZipFile; reader: BlockReader }> {
  const handle = await fsOpen(file, 'r');
  const size = (await handle.stat()).size;
  const reader = new BlockReader(handle, size);
  return new Promise((resolve, reject) =>
    yauzl.fromRandomAccessReader(reader, size, { lazyEntries: true, autoClose: false, validateEntrySizes: true }, (err, zip) => {
      if (err || !zip) {
        void handle.close().catch(() => undefined);
        reject(new NotAZipError(`${file} is not a readable zip archive (${err?.message ?? 'no archive'})`));
      } else resolve({ zip, reader });
    }),
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

/**
 * One entry's text, read straight from the blocks: the local header (its signature checked,
 * its name and extra field skipped), then the compressed bytes, inflated in one call by fflate
 * (plain JavaScript). Records are small: a stream, or a native zlib handle, per entry cost
 * more than the inflating itself. The output buffer is one byte larger than the size the
 * archive gives, so an entry that inflates to more than it says is caught, never grown.
 */
async function readEntry(reader: BlockReader, entry: yauzl.Entry): Promise<string> {
  const at = entry.relativeOffsetOfLocalHeader;
  const header = await reader.range(at, at + 30);
  if (header.length < 30 || header.readUInt32LE(0) !== 0x04034b50) throw new Error('no local file header where the directory says');
  const start = at + 30 + header.readUInt16LE(26) + header.readUInt16LE(28);
  const raw = await reader.range(start, start + entry.compressedSize);
  if (raw.length < entry.compressedSize) throw new Error('the archive ends inside the entry');
  let data: Uint8Array;
  if (entry.compressionMethod === 0) data = raw;
  else if (entry.compressionMethod === 8) data = inflateSync(raw, { out: new Uint8Array(entry.uncompressedSize + 1) });
  else throw new Error(`compression method ${entry.compressionMethod} is not supported`);
  if (data.length !== entry.uncompressedSize)
    throw new Error(`the entry does not inflate to the ${entry.uncompressedSize} bytes the archive says`);
  return decoder.decode(data);
}

const decoder = new TextDecoder();

/**
 * The `*.json` entries of a zip archive on disk, one at a time: the central directory is read
 * from the file and each entry inflated only when asked for, so an archive of hundreds of
 * megabytes never sits in memory. An entry that cannot be read comes back as an Error.
 */
export async function* zipRecordFiles(file: string): AsyncGenerator<RecordFile | { name: string; error: Error }> {
  const { zip, reader } = await open(file);
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
        yield { name: entry.fileName, text: await readEntry(reader, entry) };
      } catch (err) {
        yield { name: entry.fileName, error: err as Error };
      }
    }
  } finally {
    zip.close();
  }
}
