import { ociError } from '../lib/errors.js';
import { mayPushTo, type PullCheck, type PullPolicy } from '../registry/pull-policy.js';
import { signaturePolicyKeys, type SignatureKind } from './types.js';

/** Harbor's refusals (src/server/middleware/contenttrust), word for word. */
export const unsignedMessages: Record<SignatureKind, string> = {
  cosign: 'The image is not signed by cosign.',
  notation: 'The image is not signed by notation.',
};

export interface SignaturePolicyDeps {
  /** Whether the subject has a counting signature of the kind (SignatureService.counts). */
  counts(pull: PullCheck, kind: SignatureKind): Promise<boolean>;
  /** Whether the artifact pulled is itself a signature (signers and verifiers read them). */
  isSignature(artifactId: number): Promise<boolean>;
  /** Whether a /v2 token or robot name is a scanner's own pull credential. */
  isScannerSubject(subject: string): boolean;
}

/**
 * Harbor's content trust as a pull policy: `enable_content_trust_cosign` and
 * `enable_content_trust` (Notation) refuse, with 412, a manifest that has no signature of
 * that kind among its own accessories — an index is judged by its own signatures, and so is
 * each child pulled by digest. With trusted keys of the kind in the project, only a
 * signature that verifies counts. Passed by, as Harbor: the scanner's credential; a
 * cosign or notation client whose token may push (it reads the manifest it is about to
 * sign); a signature itself.
 */
export class SignaturePullPolicy implements PullPolicy {
  readonly name = 'content_trust';

  constructor(private readonly deps: SignaturePolicyDeps) {}

  enabled(metadata: Record<string, string>): boolean {
    return metadata[signaturePolicyKeys.cosign] === 'true' || metadata[signaturePolicyKeys.notation] === 'true';
  }

  private bypassed(pull: PullCheck): boolean {
    const { identity, userAgent } = pull;
    const subject = identity.kind === 'token' ? identity.subject : identity.kind === 'robot' ? identity.name : null;
    if (subject !== null && this.deps.isScannerSubject(subject)) return true;
    return mayPushTo(identity, pull.repository) && (userAgent.includes('cosign') || userAgent.includes('notation'));
  }

  async check(pull: PullCheck): Promise<void> {
    if (this.bypassed(pull) || (await this.deps.isSignature(pull.artifactId))) return;
    // Harbor asks cosign first, then Notation; both must hold when both are on.
    for (const kind of ['cosign', 'notation'] as const) {
      if (pull.metadata[signaturePolicyKeys[kind]] !== 'true') continue;
      if (!(await this.deps.counts(pull, kind))) throw ociError('PROJECTPOLICYVIOLATION', unsignedMessages[kind]);
    }
  }
}
