import { arrayOf, int, object, str, type SharedSchema } from '../../http/schema-helpers.js';

/** The security hub's definitions, in Harbor's names (documentation only: see server/openapi.ts). */
const num = (description: string) => ({ type: 'number', description });

export const DangerousCVE: SharedSchema = {
  $id: 'DangerousCVE',
  description: 'A CVE among the five with the highest CVSS v3 score',
  ...object({
    cve_id: str('The CVE id'),
    severity: str('Its severity'),
    cvss_score_v3: num('Its CVSS v3 score'),
    desc: str('Its description'),
    package: str('The package it was found in'),
    version: str("The package's version"),
  }),
};

export const DangerousArtifact: SharedSchema = {
  $id: 'DangerousArtifact',
  description: 'An artifact among the five with the most critical, high and medium findings',
  ...object({
    project_id: int('Project of the artifact'),
    repository_name: str('Repository of the artifact'),
    digest: str('Digest of the artifact'),
    critical_cnt: int('Critical findings'),
    high_cnt: int('High findings'),
    medium_cnt: int('Medium findings'),
  }),
};

export const SecuritySummary: SharedSchema = {
  $id: 'SecuritySummary',
  description: "Counts of the default scanner's findings over every artifact",
  ...object({
    critical_cnt: int('Critical findings'),
    high_cnt: int('High findings'),
    medium_cnt: int('Medium findings'),
    low_cnt: int('Low findings'),
    none_cnt: int('Findings of severity None or Negligible'),
    unknown_cnt: int('Findings of unknown severity'),
    total_vuls: int('All findings'),
    scanned_cnt: int('Artifacts with a vulnerability report of the default scanner'),
    total_artifact: int('All artifacts'),
    fixable_cnt: int('Findings with a fixed version'),
    dangerous_cves: arrayOf({ $ref: 'DangerousCVE#' }, 'With with_dangerous_cve: the five CVEs with the highest CVSS v3 score'),
    dangerous_artifacts: arrayOf({ $ref: 'DangerousArtifact#' }, 'With with_dangerous_artifact: the five most dangerous artifacts'),
  }),
};

export const VulnerabilityItem: SharedSchema = {
  $id: 'VulnerabilityItem',
  description: 'A finding in an artifact',
  ...object({
    project_id: int('Project of the artifact'),
    repository_name: str('Repository of the artifact'),
    digest: str('Digest of the artifact'),
    tags: arrayOf(str('A tag'), 'With with_tag: up to 10 tags of the artifact'),
    cve_id: str('The CVE id (or the advisory id when there is no CVE)'),
    severity: str('Critical, High, Medium, Low, Negligible or Unknown'),
    status: str('Always empty: Berth records no fix status'),
    cvss_v3_score: num('CVSS v3 score; 0 when unknown'),
    package: str('The package'),
    version: str("The package's installed version"),
    fixed_version: str('The version that fixes it; empty when none is known'),
    desc: str('Description'),
    links: arrayOf(str('A link'), 'Links about the vulnerability'),
  }),
};

export const securityHubSchemas = [DangerousCVE, DangerousArtifact, SecuritySummary, VulnerabilityItem];
