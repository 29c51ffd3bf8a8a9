import type { TokenService } from '../../auth/tokens.js';
import type { RegistryCredentials } from './ports.js';

/**
 * The credential a remote scanner pulls the artifact with: Harbor's default Bearer mode, a
 * registry JWT whose only access is `repository:<repo>:pull` (plus push for an SBOM scan),
 * issued to a subject that names the scanner and the report. Harbor makes a robot account
 * `<prefix>-<scanner>-<uuid>` per scan and swaps it for such a token; Berth issues the token
 * directly, so no account is created or left behind, and the pull appears in the audit log
 * under that subject.
 */
const scannerSubjectPrefix = 'scanner:';

/** `scanner:<registration name>:<report uuid>` — ':' is allowed in neither user nor robot names. */
export function scannerSubject(registrationName: string, reportUuid: string): string {
  return `${scannerSubjectPrefix}${registrationName.replace(/:/g, '_')}:${reportUuid}`;
}

/** Whether a token's subject is a scan's (the prevent-vulnerable gate lets the scanner pull). */
export function isScannerSubject(subject: string): boolean {
  return subject.startsWith(scannerSubjectPrefix);
}

export interface TokenCredentialsOptions {
  /** server.external_url, when set. */
  externalUrl: string | undefined;
  /** Berth's own address (the URL it listens on), for registrations that use the internal address. */
  internalUrl: () => string;
}

export function tokenCredentials(tokens: TokenService, options: TokenCredentialsOptions): RegistryCredentials {
  return {
    registryUrl(internal) {
      const url = internal || !options.externalUrl ? options.internalUrl() : options.externalUrl;
      return url.replace(/\/+$/, '');
    },
    async authorization(subject, repository, actions) {
      const issued = await tokens.issue(subject, [{ type: 'repository', name: repository, actions }]);
      return `Bearer ${issued.token}`;
    },
  };
}
