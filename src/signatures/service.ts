import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { AuditEntry } from '../events/audit.js';
import { apiError } from '../lib/errors.js';
import type { Paging } from '../lib/paging.js';
import { parseTrustKeyInput } from './keys.js';
import type { SignatureRow, SignatureStore } from './store.js';
import { hasSigstoreMaterial, sigstoreBundleType } from './verify/sigstore.js';
import type {
  SignatureInput,
  SignatureKind,
  SignatureVerifier,
  SignatureView,
  TrustKey,
  TrustKeyType,
  VerificationResult,
} from './types.js';

/** The verifiers by signature format: cosign simple signing (D), Sigstore bundles and Notation (E). */
export interface Verifiers {
  cosign: SignatureVerifier;
  sigstore?: SignatureVerifier;
  notation?: SignatureVerifier;
}

/** One artifact whose signatures are judged. */
export interface SignedSubject {
  repositoryId: number;
  repository: string;
  digest: string;
  mediaType: string;
}

/** Signature blobs are small; a larger one is refused rather than read. */
const maxSignatureBlobBytes = 4 * 1024 * 1024;
/** Verifications a listing computes at most (the rest are worked out when their artifact is opened or pulled). */
const listBudget = 50;

/** The key types that can vouch for each kind of signature. */
export const keyTypesFor: Record<SignatureKind, TrustKeyType[]> = {
  cosign: ['cosign', 'sigstore-root'],
  notation: ['notation-ca'],
};

export function kindOf(accessoryType: string): SignatureKind | null {
  if (accessoryType === 'signature.cosign') return 'cosign';
  if (accessoryType === 'signature.notation') return 'notation';
  return null;
}

export type TrustKeyView = ReturnType<typeof trustKeyView>;

export function trustKeyView(key: TrustKey) {
  return {
    id: key.id,
    project_id: key.projectId,
    name: key.name,
    type: key.type,
    pem: key.pem,
    fingerprint: key.fingerprint,
    creation_time: key.createdAt,
  };
}

const subjectKey = (repositoryId: number, digest: string) => `${repositoryId}|${digest}`;

/**
 * Trusted keys of projects and what signatures are worth against them. Without keys of the
 * signature's kind a signature counts because it exists (Harbor); with them, only one that
 * verifies for that exact subject. Results are cached per (signature, subject, key set).
 */
export class SignatureService {
  private readonly keyCache: LRUCache<number, TrustKey[]>;

  constructor(
    private readonly store: SignatureStore,
    private readonly readBlob: (digest: string, maxBytes: number) => Promise<Buffer>,
    readonly verifiers: Verifiers,
    options: { keyTtlMs?: number } = {},
  ) {
    this.keyCache = new LRUCache({ max: 10_000, ttl: options.keyTtlMs ?? 5000 });
  }

  // Trusted keys.

  async keysOf(projectId: number): Promise<TrustKey[]> {
    let keys = this.keyCache.get(projectId);
    if (!keys) {
      keys = await this.store.allKeys(projectId);
      this.keyCache.set(projectId, keys);
    }
    return keys;
  }

  listKeys(projectId: number, paging: Paging) {
    return this.store.keyPage(projectId, paging).then((p) => ({ items: p.items.map(trustKeyView), total: p.total }));
  }

  async key(project: { id: number; name: string }, id: number): Promise<TrustKeyView> {
    const key = await this.store.key(project.id, id);
    if (!key) throw this.notFound(project, id);
    return trustKeyView(key);
  }

  async createKey(project: { id: number; name: string }, body: Record<string, unknown>, actor: string): Promise<number> {
    const input = parseTrustKeyInput(body);
    const id = await this.store.insertKey(project.id, input, this.audit(project, actor, 'create', input.name));
    if (id === 'name') throw apiError('CONFLICT', `project ${project.name} already has a trusted key named "${input.name}"`);
    if (id === 'key')
      throw apiError('CONFLICT', `project ${project.name} already trusts this ${input.type} key (fingerprint ${input.fingerprint})`);
    this.keyCache.delete(project.id);
    return id;
  }

  async deleteKey(project: { id: number; name: string }, id: number, actor: string): Promise<void> {
    const key = await this.store.key(project.id, id);
    if (!key || !(await this.store.deleteKey(project.id, id, this.audit(project, actor, 'delete', key.name))))
      throw this.notFound(project, id);
    this.keyCache.delete(project.id);
  }

  // Signatures.

  /**
   * The signatures of each subject (keyed `repositoryId|digest`) with what they are worth.
   * `budget` bounds the verifications not already cached; past it a signature shows as
   * unverified "not checked yet".
   */
  async views(projectId: number, subjects: SignedSubject[], budget = listBudget): Promise<Map<string, SignatureView[]>> {
    const out = new Map<string, SignatureView[]>();
    const rows = await this.store.signaturesOf(subjects);
    if (rows.length === 0) return out;
    const keys = await this.keysOf(projectId);
    const bySubject = new Map(subjects.map((s) => [subjectKey(s.repositoryId, s.digest), s]));
    const results = await this.judge(rows, bySubject, keys, budget);
    for (const row of rows) {
      const kind = kindOf(row.accessory_type)!;
      const result = results.get(row.id);
      const view: SignatureView = result
        ? {
            digest: row.digest,
            kind,
            status: result.verified ? 'verified' : 'unverified',
            ...(result.signer !== undefined && { signer: result.signer }),
            ...(result.keyName !== undefined && { key_name: result.keyName }),
            ...(result.reason !== undefined && { reason: result.reason }),
          }
        : { digest: row.digest, kind, status: 'signed' };
      const key = subjectKey(Number(row.repository_id), row.accessory_of);
      out.set(key, [...(out.get(key) ?? []), view]);
    }
    return out;
  }

  /** Whether the subject has a signature of `kind` that counts (exists; with keys of the kind, verifies). */
  async counts(projectId: number, subject: SignedSubject, kind: SignatureKind): Promise<boolean> {
    const rows = (await this.store.signaturesOf([subject])).filter((r) => kindOf(r.accessory_type) === kind);
    if (rows.length === 0) return false;
    const keys = await this.keysOf(projectId);
    if (!keys.some((k) => keyTypesFor[kind].includes(k.type))) return true;
    const bySubject = new Map([[subjectKey(subject.repositoryId, subject.digest), subject]]);
    // One at a time, stopping at the first that verifies: most subjects have one signature.
    for (const row of rows) {
      const results = await this.judge([row], bySubject, keys, 1);
      if (results.get(row.id)?.verified) return true;
    }
    return false;
  }

  /** Verification results for rows whose kind has keys in the project; rows without are left out (merely signed). */
  private async judge(
    rows: SignatureRow[],
    subjects: Map<string, SignedSubject>,
    keys: TrustKey[],
    budget: number,
  ): Promise<Map<number, VerificationResult>> {
    const out = new Map<number, VerificationResult>();
    const pending: Array<{ row: SignatureRow; subject: SignedSubject; keys: TrustKey[]; cacheKey: string }> = [];
    for (const row of rows) {
      const kind = kindOf(row.accessory_type)!;
      const relevant = keys.filter((k) => keyTypesFor[kind].includes(k.type));
      if (relevant.length === 0) continue;
      const subject = subjects.get(subjectKey(Number(row.repository_id), row.accessory_of));
      if (!subject) continue;
      pending.push({ row, subject, keys: relevant, cacheKey: cacheKeyOf(row.digest, subject.digest, relevant) });
    }
    const cached = await this.store.cached(pending.map((p) => p.cacheKey));
    let left = budget;
    for (const p of pending) {
      const hit = cached.get(p.cacheKey);
      if (hit) {
        out.set(p.row.id, hit);
        continue;
      }
      if (left <= 0) {
        out.set(p.row.id, { verified: false, reason: 'not checked yet: open the artifact to verify it' });
        continue;
      }
      left -= 1;
      out.set(p.row.id, await this.verifyOne(p.row, p.subject, p.keys, p.cacheKey));
    }
    return out;
  }

  private async verifyOne(row: SignatureRow, subject: SignedSubject, keys: TrustKey[], cacheKey: string): Promise<VerificationResult> {
    let manifest: any;
    try {
      manifest = JSON.parse(Buffer.from(row.manifest).toString('utf8'));
    } catch {
      manifest = {};
    }
    const artifactType = row.artifact_type ?? row.config_media_type ?? '';
    const input: SignatureInput = {
      subject: {
        digest: subject.digest,
        mediaType: subject.mediaType,
        size: await this.store.manifestSize(subject.repositoryId, subject.digest),
        repository: subject.repository,
      },
      signature: { digest: row.digest, mediaType: row.media_type, artifactType, manifest },
      readBlob: (digest) => this.readBlob(digest, maxSignatureBlobBytes),
    };
    const verifiers = this.verifiersFor(kindOf(row.accessory_type)!, artifactType, manifest);
    if (verifiers.length === 0) return { verified: false, reason: 'this Berth has no verifier for this signature format' };
    const reasons: string[] = [];
    let result: VerificationResult = { verified: false };
    for (const verifier of verifiers) {
      try {
        result = await verifier(input, keys);
      } catch (err) {
        // A storage or programming failure, not a verdict on the signature: said, not remembered.
        return { verified: false, reason: `could not be checked: ${(err as Error).message}` };
      }
      if (result.verified) break;
      if (result.reason) reasons.push(result.reason);
    }
    if (!result.verified && reasons.length > 1) result = { verified: false, reason: reasons.join('; ') };
    await this.store.remember(cacheKey, row.digest, result);
    return result;
  }

  /**
   * Which verifiers judge a signature: Notation's; a Sigstore bundle's; for cosign
   * simple-signing layers the key-based one, then, when some layer is keyless (a Fulcio
   * certificate in its annotations), the Sigstore one (cosign appends layers of both kinds).
   */
  private verifiersFor(kind: SignatureKind, artifactType: string, manifest: any): SignatureVerifier[] {
    const { cosign, sigstore, notation } = this.verifiers;
    if (kind === 'notation') return notation ? [notation] : [];
    if (isBundle(artifactType, manifest)) return sigstore ? [sigstore] : [];
    return [cosign, ...(sigstore && hasSigstoreMaterial(artifactType, manifest) ? [sigstore] : [])];
  }

  private audit(project: { id: number; name: string }, actor: string, operation: AuditEntry['operation'], name: string): AuditEntry {
    return { username: actor, operation, resourceType: 'trust_key', resource: `${project.name}/trust/keys/${name}`, projectId: project.id };
  }

  private notFound(project: { name: string }, id: number) {
    return apiError('NOT_FOUND', `trusted key ${id} is not in project ${project.name}`);
  }
}

function isBundle(artifactType: string, manifest: any): boolean {
  if (artifactType === sigstoreBundleType) return true;
  const layers: any[] = Array.isArray(manifest?.layers) ? manifest.layers : [];
  return layers.some((l) => typeof l?.mediaType === 'string' && l.mediaType.startsWith('application/vnd.dev.sigstore.bundle'));
}

/** The verification cache's key: the signature, its subject and the key material it is judged against. */
export function cacheKeyOf(signatureDigest: string, subjectDigest: string, keys: TrustKey[]): string {
  const trust = keys
    .map((k) => `${k.type}:${k.fingerprint}:${k.name}`)
    .sort()
    .join(',');
  return createHash('sha256').update(`${signatureDigest}|${subjectDigest}|${trust}`).digest('hex');
}
