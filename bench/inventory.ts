// The image walk's figures: an image of about 100 MB (gzip layers) with a few hundred OS and
// npm packages is generated into an OCI layout on disk, then a child process inventories it
// twice, cold and warm (layer cache), and reports the times and its peak RSS.
//
//   node --import tsx bench/inventory.ts [--mb=100] [--compression=gzip|zstd] [--keep]
//
// measureInventory() is the same, for bench/run.ts.
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { createGzip } from 'node:zlib';
import { pack } from 'tar-stream';

export interface InventoryFigures {
  imageBytes: number;
  layers: number;
  tarBytes: number;
  entries: number;
  packages: number;
  coldMs: number;
  /** CPU time (user + system, all threads) of the cold scan: steadier than wall time on a busy machine. */
  coldCpuMs: number;
  warmMs: number;
  peakRssMb: number;
  compression: string;
}

type Compression = 'gzip' | 'zstd';

/** An ImageSource over an OCI image layout directory. */
class LayoutSource {
  constructor(private readonly dir: string) {}
  private file(digest: string) {
    return path.join(this.dir, 'blobs', 'sha256', digest.slice('sha256:'.length));
  }
  async manifest(digest: string) {
    return { mediaType: 'application/vnd.oci.image.manifest.v1+json', bytes: await readFile(this.file(digest)) };
  }
  async blob(digest: string): Promise<Readable> {
    return createReadStream(this.file(digest), { highWaterMark: 256 * 1024 });
  }
}

function stanza(i: number): string {
  const name = `libbench${i}`;
  return [
    `Package: ${name}`,
    'Status: install ok installed',
    'Priority: optional',
    'Section: libs',
    'Installed-Size: 1234',
    'Maintainer: Bench <bench@example.org>',
    'Architecture: amd64',
    `Source: bench-src${i % 97} (1.${i % 13}-${i % 7})`,
    `Version: 1.${i % 13}-${i % 7}+b${i % 3}`,
    'Depends: libc6 (>= 2.34)',
    `Description: generated package ${i}`,
    ' a longer description line that dpkg keeps for every package,',
    ' as real status files do.',
    '',
  ].join('\n');
}

/** Text that compresses about as well as real file trees do (roughly 3:1). */
function textFile(seed: number, size: number): Buffer {
  const words = randomBytes(Math.ceil(size / 4))
    .toString('base64')
    .slice(0, Math.ceil(size / 3));
  const out = Buffer.alloc(size, ` file ${seed} `);
  out.write(words, 0);
  return out;
}

/** Writes one layer (a tar streamed through the compressor to a temp file); returns its digest and size. */
async function writeLayer(
  dir: string,
  compression: Compression,
  fill: (add: (name: string, body: Buffer, mode?: number) => Promise<void>) => Promise<void>,
) {
  const tar = pack();
  const tmp = path.join(dir, `layer-${randomBytes(4).toString('hex')}`);
  const hash = createHash('sha256');
  const tee = new PassThrough();
  tee.on('data', (c: Buffer) => hash.update(c));
  const compressor =
    compression === 'gzip' ? createGzip({ level: 6 }) : spawn('zstd', ['-q', '-c', '-3'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const writing =
    compression === 'gzip'
      ? pipeline(tar, compressor as ReturnType<typeof createGzip>, tee, createWriteStream(tmp))
      : Promise.all([
          pipeline(tar, (compressor as ReturnType<typeof spawn>).stdin!),
          pipeline((compressor as ReturnType<typeof spawn>).stdout!, tee, createWriteStream(tmp)),
        ]);
  await fill(
    (name, body, mode = 0o644) =>
      new Promise<void>((resolve, reject) => tar.entry({ name, mode }, body, (err) => (err ? reject(err) : resolve()))),
  );
  tar.finalize();
  await writing;
  const digest = `sha256:${hash.digest('hex')}`;
  await rename(tmp, path.join(dir, 'blobs', 'sha256', digest.slice(7)));
  return { digest, size: (await stat(path.join(dir, 'blobs', 'sha256', digest.slice(7)))).size };
}

/** Generates the image; returns the layout directory and the manifest digest. */
export async function generateImage(targetMb: number, compression: Compression): Promise<{ dir: string; digest: string; bytes: number }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'berth-bench-inventory-'));
  await mkdir(path.join(dir, 'blobs', 'sha256'), { recursive: true });
  const budget = targetMb * 1024 * 1024;
  const layers: { digest: string; size: number }[] = [];
  // Base: the OS, 400 dpkg packages, thousands of small files and some binaries.
  layers.push(
    await writeLayer(dir, compression, async (add) => {
      await add('etc/os-release', Buffer.from('PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n'));
      await add('var/lib/dpkg/status', Buffer.from(Array.from({ length: 400 }, (_, i) => stanza(i)).join('\n')));
      for (let i = 0; i < 6000; i++) await add(`usr/share/doc/pkg${i % 400}/file${i}.txt`, textFile(i, 1024 + (i % 7) * 1024));
      for (let i = 0; i < Math.round((budget * 0.45) / (1024 * 1024)); i++)
        await add(`usr/lib/x86_64-linux-gnu/libbin${i}.so`, randomBytes(1024 * 1024), 0o755);
    }),
  );
  // An application layer: 300 npm packages and their files.
  layers.push(
    await writeLayer(dir, compression, async (add) => {
      for (let i = 0; i < 300; i++) {
        const base = `app/node_modules/bench-mod-${i}`;
        await add(
          `${base}/package.json`,
          Buffer.from(JSON.stringify({ name: `bench-mod-${i}`, version: `1.${i % 10}.${i % 4}`, license: 'MIT' })),
        );
        for (let j = 0; j < 10; j++) await add(`${base}/lib/f${j}.js`, textFile(i * 10 + j, 2048));
      }
      for (let i = 0; i < Math.round((budget * 0.35) / (1024 * 1024)); i++) await add(`app/assets/blob${i}.bin`, randomBytes(1024 * 1024));
    }),
  );
  // A top layer that deletes and replaces some of the above.
  layers.push(
    await writeLayer(dir, compression, async (add) => {
      await add('usr/share/doc/.wh.pkg1', Buffer.alloc(0));
      await add('app/node_modules/bench-mod-0/.wh..wh..opq', Buffer.alloc(0));
      for (let i = 0; i < Math.round((budget * 0.15) / (1024 * 1024)); i++) await add(`srv/data${i}.bin`, randomBytes(1024 * 1024));
    }),
  );
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
  const configDigest = `sha256:${createHash('sha256').update(config).digest('hex')}`;
  await writeFile(path.join(dir, 'blobs', 'sha256', configDigest.slice(7)), config);
  const mediaType = compression === 'gzip' ? 'application/vnd.oci.image.layer.v1.tar+gzip' : 'application/vnd.oci.image.layer.v1.tar+zstd';
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
      layers: layers.map((l) => ({ mediaType, digest: l.digest, size: l.size })),
    }),
  );
  const digest = `sha256:${createHash('sha256').update(manifest).digest('hex')}`;
  await writeFile(path.join(dir, 'blobs', 'sha256', digest.slice(7)), manifest);
  return { dir, digest, bytes: layers.reduce((n, l) => n + l.size, 0) };
}

/** The child's side: scan the layout cold then warm, print the figures as JSON. */
async function scanChild(dir: string, digest: string): Promise<void> {
  const { inventoryOf, LayerCache } = await import('../src/scanning/inventory/index.js');
  const source = new LayoutSource(dir);
  const cache = new LayerCache(64);
  const cold = {} as { tarBytes: number; entries: number; layersRead: number };
  const cpuBefore = process.cpuUsage();
  let started = performance.now();
  const inventory = await inventoryOf(source, digest, { cache, stats: cold as never });
  const coldMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  const coldCpuMs = (cpu.user + cpu.system) / 1000;
  started = performance.now();
  await inventoryOf(source, digest, { cache });
  const warmMs = performance.now() - started;
  process.stdout.write(
    `${JSON.stringify({
      coldMs,
      coldCpuMs,
      warmMs,
      packages: inventory.packages.length,
      tarBytes: cold.tarBytes,
      entries: cold.entries,
      layers: cold.layersRead,
      peakRssMb: process.resourceUsage().maxRSS / 1024,
    })}\n`,
  );
}

export async function measureInventory(
  options: { mb?: number; compression?: Compression; keep?: boolean } = {},
): Promise<InventoryFigures> {
  const compression = options.compression ?? 'gzip';
  const image = await generateImage(options.mb ?? 100, compression);
  try {
    const self = fileURLToPath(import.meta.url);
    const child = spawnSync(process.execPath, ['--import', 'tsx', self, '--child', image.dir, image.digest], {
      encoding: 'utf8',
      maxBuffer: 1 << 20,
    });
    if (child.status !== 0) throw new Error(`the inventory child failed: ${child.stderr}`);
    const figures = JSON.parse(child.stdout.trim().split('\n').pop()!) as Omit<InventoryFigures, 'imageBytes' | 'compression'>;
    return { ...figures, imageBytes: image.bytes, compression };
  } finally {
    if (!options.keep) await rm(image.dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  if (args[0] === '--child') {
    await scanChild(args[1], args[2]);
  } else {
    const opt = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
    const figures = await measureInventory({
      mb: Number(opt('mb') ?? 100),
      compression: (opt('compression') ?? 'gzip') as Compression,
      keep: args.includes('--keep'),
    });
    console.log(JSON.stringify(figures, null, 2));
  }
}
