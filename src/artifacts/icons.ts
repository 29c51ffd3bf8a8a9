import { createHash } from 'node:crypto';

/** A square badge with a short label: Berth's own icons, one per artifact kind. */
function badge(label: string, color: string): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64" viewBox="0 0 64 64">` +
    `<rect width="64" height="64" rx="12" fill="${color}"/>` +
    `<text x="32" y="39" font-family="sans-serif" font-size="${label.length > 4 ? 13 : 16}" font-weight="bold" fill="#fff" text-anchor="middle">${label}</text>` +
    `</svg>`
  );
}

const sources = {
  image: badge('IMAGE', '#0b62a4'),
  chart: badge('HELM', '#0f1689'),
  cnab: badge('CNAB', '#6b2c91'),
  wasm: badge('WASM', '#654ff0'),
  generic: badge('OCI', '#4a5568'),
  signature: badge('SIG', '#2f855a'),
  sbom: badge('SBOM', '#b7791f'),
} as const;

type IconName = keyof typeof sources;

const byDigest = new Map<string, Buffer>();
const digests = {} as Record<IconName, string>;
for (const [name, svg] of Object.entries(sources) as Array<[IconName, string]>) {
  const bytes = Buffer.from(svg);
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  byDigest.set(digest, bytes);
  digests[name] = digest;
}

/** The digest of each built-in icon, as artifacts name them in `icon`. */
export const icons: Readonly<Record<IconName, string>> = digests;

/** The icon of an accessory, by its type (signature.cosign, sbom.harbor, …). */
export function accessoryIcon(type: string): string | null {
  if (type.startsWith('signature.')) return digests.signature;
  if (type.startsWith('sbom')) return digests.sbom;
  return null;
}

/** An icon as /icons/{digest} answers it, or undefined when there is none by that digest. */
export function iconByDigest(digest: string): { 'content-type': string; content: string } | undefined {
  const bytes = byDigest.get(digest);
  return bytes ? { 'content-type': 'image/svg+xml', content: bytes.toString('base64') } : undefined;
}
