import { sql } from 'kysely';
import type { Db } from '../db/index.js';
import { writeAudit, type AuditEntry } from '../events/audit.js';
import { nowIso } from '../lib/clock.js';
import type { Paging } from '../lib/paging.js';
import type { TrustKeyInput } from './keys.js';
import type { TrustKey, TrustKeyType, VerificationResult } from './types.js';
import { isUniqueViolation } from '../db/errors.js';

type KeyRow = { id: number; project_id: number; name: string; type: string; pem: string; fingerprint: string; created_at: string };

function keyOf(row: KeyRow): TrustKey {
  return {
    id: Number(row.id),
    projectId: Number(row.project_id),
    name: row.name,
    type: row.type as TrustKeyType,
    pem: row.pem,
    fingerprint: row.fingerprint,
    createdAt: row.created_at,
  };
}

/** A signature accessory as the verifiers need it. */
export interface SignatureRow {
  id: number;
  repository_id: number;
  digest: string;
  media_type: string;
  artifact_type: string | null;
  config_media_type: string | null;
  manifest: Uint8Array;
  accessory_of: string;
  accessory_type: string;
}

export const signatureAccessoryTypes = ['signature.cosign', 'signature.notation'];

/** SQL of trust_keys, signature_verifications and the signature accessories of artifacts. */
export class SignatureStore {
  constructor(readonly db: Db) {}

  private keys() {
    return this.db.selectFrom('trust_keys').select(['id', 'project_id', 'name', 'type', 'pem', 'fingerprint', 'created_at']);
  }

  async allKeys(projectId: number): Promise<TrustKey[]> {
    return (await this.keys().where('project_id', '=', projectId).orderBy('id').execute()).map(keyOf);
  }

  async keyPage(projectId: number, paging: Paging): Promise<{ items: TrustKey[]; total: number }> {
    const count = await this.db
      .selectFrom('trust_keys')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('project_id', '=', projectId)
      .executeTakeFirstOrThrow();
    const rows = await this.keys().where('project_id', '=', projectId).orderBy('id').limit(paging.pageSize).offset(paging.offset).execute();
    return { items: rows.map(keyOf), total: Number(count.n) };
  }

  async key(projectId: number, id: number): Promise<TrustKey | undefined> {
    const row = await this.keys().where('project_id', '=', projectId).where('id', '=', id).executeTakeFirst();
    return row && keyOf(row);
  }

  /** Adds a key with its audit record; 'name' or 'key' when the project already has that name or that key material. */
  async insertKey(projectId: number, input: TrustKeyInput, audit: AuditEntry): Promise<number | 'name' | 'key'> {
    try {
      return await this.db.transaction().execute(async (tx) => {
        const clash = await tx
          .selectFrom('trust_keys')
          .select(['name', 'type', 'fingerprint'])
          .where('project_id', '=', projectId)
          .where((eb) =>
            eb.or([eb('name', '=', input.name), eb.and([eb('type', '=', input.type), eb('fingerprint', '=', input.fingerprint)])]),
          )
          .executeTakeFirst();
        if (clash) return clash.name === input.name ? 'name' : 'key';
        const row = await tx
          .insertInto('trust_keys')
          .values({
            project_id: projectId,
            name: input.name,
            type: input.type,
            pem: input.pem,
            fingerprint: input.fingerprint,
            created_at: nowIso(),
          })
          .returning('id')
          .executeTakeFirstOrThrow();
        await writeAudit(tx, audit);
        return Number(row.id);
      });
    } catch (err) {
      // A concurrent create of the same name or key won the race.
      if (isUniqueViolation(err)) return 'name';
      throw err;
    }
  }

  async deleteKey(projectId: number, id: number, audit: AuditEntry): Promise<boolean> {
    return this.db.transaction().execute(async (tx) => {
      const result = await tx.deleteFrom('trust_keys').where('project_id', '=', projectId).where('id', '=', id).executeTakeFirst();
      if (Number(result.numDeletedRows) === 0) return false;
      await writeAudit(tx, audit);
      return true;
    });
  }

  /** The signature accessories (cosign, notation) of artifacts, in one query, oldest first. */
  async signaturesOf(subjects: Array<{ repositoryId: number; digest: string }>): Promise<SignatureRow[]> {
    if (subjects.length === 0) return [];
    const rows = await this.db
      .selectFrom('artifacts')
      .select([
        'id',
        'repository_id',
        'digest',
        'media_type',
        'artifact_type',
        'config_media_type',
        'manifest',
        'accessory_of',
        'accessory_type',
      ])
      .where('repository_id', 'in', [...new Set(subjects.map((s) => s.repositoryId))])
      .where('accessory_of', 'in', [...new Set(subjects.map((s) => s.digest))])
      .where('accessory_type', 'in', signatureAccessoryTypes)
      .orderBy('push_time')
      .orderBy('id')
      .execute();
    return rows as SignatureRow[];
  }

  async isSignature(artifactId: number): Promise<boolean> {
    const row = await this.db.selectFrom('artifacts').select('accessory_type').where('id', '=', artifactId).executeTakeFirst();
    return row?.accessory_type != null && signatureAccessoryTypes.includes(row.accessory_type);
  }

  /** The byte length of a manifest (Notation's targetArtifact size); 0 when it is not stored. */
  async manifestSize(repositoryId: number, digest: string): Promise<number> {
    const row = await this.db
      .selectFrom('artifacts')
      .select(sql<number>`length(manifest)`.as('n'))
      .where('repository_id', '=', repositoryId)
      .where('digest', '=', digest)
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  async cached(keys: string[]): Promise<Map<string, VerificationResult>> {
    const out = new Map<string, VerificationResult>();
    if (keys.length === 0) return out;
    const rows = await this.db
      .selectFrom('signature_verifications')
      .select(['cache_key', 'verified', 'signer', 'key_name', 'reason'])
      .where('cache_key', 'in', keys)
      .execute();
    for (const r of rows) {
      out.set(r.cache_key, {
        verified: Number(r.verified) === 1,
        ...(r.signer !== null && { signer: r.signer }),
        ...(r.key_name !== null && { keyName: r.key_name }),
        ...(r.reason !== null && { reason: r.reason }),
      });
    }
    return out;
  }

  async remember(cacheKey: string, signatureDigest: string, result: VerificationResult): Promise<void> {
    await this.db
      .insertInto('signature_verifications')
      .values({
        cache_key: cacheKey,
        signature_digest: signatureDigest,
        verified: result.verified ? 1 : 0,
        signer: result.signer ?? null,
        key_name: result.keyName ?? null,
        reason: result.reason?.slice(0, 2000) ?? null,
        checked_at: nowIso(),
      })
      .onConflict((oc) => oc.column('cache_key').doNothing())
      .execute();
  }
}
