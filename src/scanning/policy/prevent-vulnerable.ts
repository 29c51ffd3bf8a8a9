import { ociError } from '../../lib/errors.js';
import { mayPushTo, type PullCheck, type PullPolicy } from '../../registry/pull-policy.js';
import { severityRank, type Severity } from '../types.js';
import type { EffectiveAllowlist } from './allowlist-rules.js';

/** What E's ScanResults.forPolicy answers per digest (scans/results.ts). */
export interface PolicyScanResult {
  status: 'Pending' | 'Running' | 'Success' | 'Error' | 'Stopped' | 'NotScanned';
  severity: Severity | null;
  findings: Array<{ id: string; severity: Severity }>;
}

export interface PreventVulnerableDeps {
  /** The vulnerability report results of a scanner for digests of a repository. */
  forPolicy(repositoryId: number, digests: string[], registrationUuid: string): Promise<Map<string, PolicyScanResult>>;
  /** The uuid of the project's scanner (else the default); null when there is none. */
  registrationFor(projectId: number): Promise<string | null>;
  /** The list a pull of the project is judged by (system's or project's, per reuse_sys_cve_allowlist). */
  allowlistFor(projectId: number, metadata: Record<string, string>): Promise<EffectiveAllowlist>;
  /** Harbor's IsScannable: an image (or an index with an image child), not an accessory. */
  scannable(artifactId: number): Promise<boolean>;
  /** The digests of an index's children a scanner can scan (images, not accessories). */
  scannableChildren(artifactId: number): Promise<string[]>;
  /** Whether the artifact is a cosign or notation signature (pulled by signers and verifiers). */
  isSignature(artifactId: number): Promise<boolean>;
  /** Whether a /v2 token or robot name is a scanner's own pull credential. */
  isScannerSubject(subject: string): boolean;
}

/** Harbor's project severity (ParseSeverityVersion3): the word shown in the message, and its rank. */
export function projectSeverity(value: string | undefined): { label: string; rank: number } {
  switch ((value ?? '').toLowerCase()) {
    case 'none':
    case 'negligible':
      return { label: 'None', rank: 0 };
    case 'low':
      return { label: 'Low', rank: severityRank('Low') };
    case 'medium':
      return { label: 'Medium', rank: severityRank('Medium') };
    case 'high':
      return { label: 'High', rank: severityRank('High') };
    case 'critical':
      return { label: 'Critical', rank: severityRank('Critical') };
    default:
      return { label: 'Unknown', rank: 0 };
  }
}

const policyClause = (label: string) =>
  `due to configured policy in 'Prevent images with vulnerability severity of "${label}" or higher from running.'`;

/** Harbor's three refusals, word for word. */
export const refusalMessages = {
  unscanned: (label: string) =>
    `current image without vulnerability scanning cannot be pulled ${policyClause(label)} To continue with pull, please contact your project administrator for help.`,
  status: (status: string, label: string) =>
    `current image with "${status}" status of vulnerability scanning cannot be pulled ${policyClause(label)} To continue with pull, please contact your project administrator for help.`,
  vulnerable: (count: number, label: string) =>
    `current image with ${count} ${count > 1 ? 'vulnerabilities' : 'vulnerability'} cannot be pulled ${policyClause(label)} ` +
    'To continue with pull, please contact your project administrator to exempt matched vulnerabilities through configuring the CVE allowlist.',
};

function refuse(message: string): never {
  throw ociError('PROJECTPOLICYVIOLATION', message);
}

/**
 * Harbor's `vulnerable` middleware as a pull policy (project metadata `prevent_vul` and
 * `severity`). Passed by: the scanner's own credential; cosign and notation clients whose
 * token may push (they read the manifest before signing it); signatures themselves.
 * Refused with 412: a scannable artifact without a report, a report not Successful, or
 * findings not on an unexpired allowlist whose highest severity is at or above the project's.
 * An index passes once every child a scanner can scan has a report; each child is judged when it is pulled.
 */
export class PreventVulnerablePolicy implements PullPolicy {
  readonly name = 'prevent_vul';

  constructor(private readonly deps: PreventVulnerableDeps) {}

  enabled(metadata: Record<string, string>): boolean {
    return metadata.prevent_vul === 'true';
  }

  private bypassed(pull: PullCheck): boolean {
    const { identity, userAgent } = pull;
    const subject = identity.kind === 'token' ? identity.subject : identity.kind === 'robot' ? identity.name : null;
    if (subject !== null && this.deps.isScannerSubject(subject)) return true;
    return mayPushTo(identity, pull.repository) && (userAgent.includes('cosign') || userAgent.includes('notation'));
  }

  async check(pull: PullCheck): Promise<void> {
    if (this.bypassed(pull) || (await this.deps.isSignature(pull.artifactId))) return;
    const severity = projectSeverity(pull.metadata.severity);
    const registration = await this.deps.registrationFor(pull.projectId);
    // No scanner: nothing is scannable, so nothing is checked (Harbor).
    if (registration === null) return;
    if (isIndex(pull.mediaType)) {
      // Harbor: refused while a scannable child has no report; otherwise an index of images passes.
      const children = await this.deps.scannableChildren(pull.artifactId);
      if (children.length === 0) return;
      const results = await this.deps.forPolicy(pull.repositoryId, children, registration);
      if (children.some((d) => (results.get(d)?.status ?? 'NotScanned') === 'NotScanned'))
        refuse(refusalMessages.unscanned(severity.label));
      return;
    }
    const result = (await this.deps.forPolicy(pull.repositoryId, [pull.digest], registration)).get(pull.digest);
    if (!result || result.status === 'NotScanned') {
      if (await this.deps.scannable(pull.artifactId)) refuse(refusalMessages.unscanned(severity.label));
      return;
    }
    if (result.status !== 'Success') refuse(refusalMessages.status(result.status, severity.label));
    const allowlist = await this.deps.allowlistFor(pull.projectId, pull.metadata);
    let count = 0;
    let highest = -1;
    for (const finding of result.findings) {
      if (!allowlist.expired && allowlist.ids.has(finding.id)) continue;
      count += 1;
      const rank = severityRank(finding.severity);
      // A severity Harbor does not know ranks highest, to be safe (as Harbor's Severity.Code).
      highest = Math.max(highest, rank < 0 ? 99 : rank);
    }
    if (count > 0 && highest >= severity.rank) refuse(refusalMessages.vulnerable(count, severity.label));
  }
}

function isIndex(mediaType: string): boolean {
  return (
    mediaType === 'application/vnd.oci.image.index.v1+json' || mediaType === 'application/vnd.docker.distribution.manifest.list.v2+json'
  );
}
