import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after } from 'node:test';
import { openSqlite } from '../../src/db/index.js';
import { dialectSuite } from './dialect.suite.js';

const dirs: string[] = [];
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

dialectSuite('sqlite', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'berth-sqlite-'));
  dirs.push(dir);
  return openSqlite(path.join(dir, 'berth.db'));
});
