import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after } from 'node:test';
import { FilesystemBlobStore } from '../../src/storage/filesystem.js';
import { blobStoreSuite } from './blobstore.suite.js';

const dirs: string[] = [];
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

blobStoreSuite(
  'filesystem',
  async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'berth-fs-'));
    dirs.push(dir);
    const store = new FilesystemBlobStore(dir);
    await store.init();
    return store;
  },
  async (store) => new FilesystemBlobStore((store as FilesystemBlobStore).root),
);
