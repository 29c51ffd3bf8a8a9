// The one list of the features this Berth has. A setting or permission that belongs to a
// feature not listed here does nothing yet, so the portal does not offer it: no switch that
// does nothing. When a feature lands, add it to `present` and its switches and robot
// permissions appear everywhere at once.

export type Feature =
  | 'vulnerability-scanning'
  | 'sbom-generation'
  | 'cosign-policy'
  | 'notary-policy'
  | 'quotas'
  | 'tag-retention'
  | 'tag-immutability'
  | 'webhooks'
  | 'p2p-preheat'
  | 'replication'
  | 'proxy-cache';

const present: ReadonlySet<Feature> = new Set<Feature>([
  'quotas',
  'tag-retention',
  'tag-immutability',
  'vulnerability-scanning',
  'sbom-generation',
  'replication',
  'proxy-cache',
  'p2p-preheat',
  'webhooks',
  'cosign-policy',
  'notary-policy',
]);

export function hasFeature(feature: Feature): boolean {
  return present.has(feature);
}

/** The project metadata keys (Harbor's project configuration) that need a feature. */
const metadataFeatures: Record<string, Feature> = {
  prevent_vul: 'vulnerability-scanning',
  severity: 'vulnerability-scanning',
  auto_scan: 'vulnerability-scanning',
  auto_sbom_generation: 'sbom-generation',
  enable_content_trust_cosign: 'cosign-policy',
  enable_content_trust: 'notary-policy',
};

/** Whether a project configuration key does something in this Berth. */
export function settingPresent(key: string): boolean {
  const feature = metadataFeatures[key];
  return feature === undefined || hasFeature(feature);
}

/** The project-level RBAC resources (robot permissions) that need a feature. */
const resourceFeatures: Record<string, Feature> = {
  scan: 'vulnerability-scanning',
  scanner: 'vulnerability-scanning',
  'export-cve': 'vulnerability-scanning',
  sbom: 'sbom-generation',
  quota: 'quotas',
  'tag-retention': 'tag-retention',
  'immutable-tag': 'tag-immutability',
  'notification-policy': 'webhooks',
  'preheat-policy': 'p2p-preheat',
};

/** Whether a permission on `resource` does something in this Berth. */
export function permissionPresent(resource: string): boolean {
  const feature = resourceFeatures[resource];
  return feature === undefined || hasFeature(feature);
}
