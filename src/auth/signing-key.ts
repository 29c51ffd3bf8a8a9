import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { exportPKCS8, generateKeyPair } from 'jose';
import type { Db } from '../db/index.js';
import { nowIso } from '../lib/clock.js';

const settingName = 'token_signing_key';

async function newKeyPem(): Promise<string> {
  const { privateKey } = await generateKeyPair('RS256', { modulusLength: 2048, extractable: true });
  return exportPKCS8(privateKey);
}

/** The PEM in a configured key file, generated into it when the file does not exist yet. */
export async function signingKeyFromFile(file: string): Promise<string> {
  if (existsSync(file)) return readFileSync(file, 'utf8');
  const pem = await newKeyPem();
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, pem, { mode: 0o600 });
  return pem;
}

/**
 * The signing key every instance shares through the database: the first instance to
 * start stores one (the key an older Berth left in `legacyFile`, or a new one); a
 * concurrent start loses the insert race and reads the winner's.
 */
export async function signingKeyFromDatabase(db: Db, legacyFile: string): Promise<string> {
  const stored = await db.selectFrom('settings').select('value').where('name', '=', settingName).executeTakeFirst();
  if (stored) return stored.value;
  const pem = existsSync(legacyFile) ? readFileSync(legacyFile, 'utf8') : await newKeyPem();
  await db
    .insertInto('settings')
    .values({ name: settingName, value: pem, created_at: nowIso() })
    .onConflict((oc) => oc.column('name').doNothing())
    .execute();
  const winner = await db.selectFrom('settings').select('value').where('name', '=', settingName).executeTakeFirstOrThrow();
  return winner.value;
}
