import type { FastifyInstance } from 'fastify';
import type { ArtifactService } from '../artifacts/service.js';
import type { AccessGuard } from '../auth/guard.js';
import type { Db } from '../db/index.js';
import type { ProjectService } from '../projects/service.js';
import type { RegistryService } from '../registry/service.js';
import type { BlobStore } from '../storage/blobstore.js';
import { SignaturePullPolicy } from './policy.js';
import { registerSignatureRoutes } from './routes.js';
import { SignatureService, type Verifiers } from './service.js';
import { SignatureStore } from './store.js';
import { verifyCosign } from './verify/cosign.js';
import { verifyNotation } from './verify/notation.js';
import { verifySigstoreBundle } from './verify/sigstore.js';

export interface SignatureDeps {
  db: Db;
  blobs: BlobStore;
  registry: RegistryService;
  projects: ProjectService;
  artifacts: ArtifactService;
  /** Whether a /v2 token or robot name is a scanner's own pull credential (the policy lets it through). */
  isScannerSubject(subject: string): boolean;
  /** Tests replace the verifiers of other formats. */
  verifiers?: Partial<Verifiers>;
}

/** Reads a blob whole, refusing one larger than `maxBytes` (signature payloads and envelopes are small). */
async function readSmallBlob(blobs: BlobStore, digest: string, maxBytes: number): Promise<Buffer> {
  const info = await blobs.stat(digest);
  if (!info) throw new Error(`blob ${digest} is not stored`);
  if (info.size > maxBytes) throw new Error(`blob ${digest} has ${info.size} bytes, more than a signature may (${maxBytes})`);
  const chunks: Buffer[] = [];
  for await (const chunk of await blobs.read(digest)) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

/**
 * Signature policies and trusted keys: the content-trust pull policy on /v2, the
 * `signatures` field of the artifact API and /projects/{p}/trust/keys. The caller registers
 * `registerApiRoutes` under /api/v2.0.
 */
export function createSignatures(deps: SignatureDeps) {
  const store = new SignatureStore(deps.db);
  const service = new SignatureService(store, (digest, max) => readSmallBlob(deps.blobs, digest, max), {
    cosign: verifyCosign,
    sigstore: verifySigstoreBundle,
    notation: verifyNotation,
    ...deps.verifiers,
  });
  const policy = new SignaturePullPolicy({
    counts: (pull, kind) =>
      service.counts(
        pull.projectId,
        { repositoryId: pull.repositoryId, repository: pull.repository, digest: pull.digest, mediaType: pull.mediaType },
        kind,
      ),
    isSignature: (artifactId) => store.isSignature(artifactId),
    isScannerSubject: deps.isScannerSubject,
  });
  deps.registry.pullPolicies.push(policy);
  deps.artifacts.signatures = {
    async views(items) {
      const out = new Map();
      const byProject = new Map<number, typeof items>();
      for (const item of items) byProject.set(item.projectId, [...(byProject.get(item.projectId) ?? []), item]);
      for (const [projectId, subjects] of byProject) for (const [k, v] of await service.views(projectId, subjects)) out.set(k, v);
      return out;
    },
  };
  return {
    service,
    policy,
    /** Under /api/v2.0. */
    async registerApiRoutes(api: FastifyInstance, routeDeps: { guard: AccessGuard }) {
      await registerSignatureRoutes(api, { signatures: service, projects: deps.projects, guard: routeDeps.guard });
    },
  };
}

export type Signatures = ReturnType<typeof createSignatures>;
