export const mediaTypes = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociEmpty: 'application/vnd.oci.empty.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerSchema1: 'application/vnd.docker.distribution.manifest.v1+json',
  dockerSchema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  octetStream: 'application/octet-stream',
} as const;

export type ManifestKind = 'image' | 'index';

/**
 * The manifest media types Berth stores, and what each one is. A null-prototype object, so
 * that a media type such as "constructor" or "__proto__" is no kind (not Object's own members).
 */
export const manifestKinds: Readonly<Record<string, ManifestKind | undefined>> = Object.assign(
  Object.create(null) as Record<string, ManifestKind>,
  {
    [mediaTypes.ociManifest]: 'image',
    [mediaTypes.dockerManifest]: 'image',
    [mediaTypes.ociIndex]: 'index',
    [mediaTypes.dockerManifestList]: 'index',
  } as const,
);

export function isSchema1(mediaType: string): boolean {
  return mediaType === mediaTypes.dockerSchema1 || mediaType === mediaTypes.dockerSchema1Signed;
}

/** Layers that clients fetch from elsewhere and registries need not hold. */
export function isForeignLayer(mediaType: string): boolean {
  return (
    mediaType === 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip' ||
    mediaType.startsWith('application/vnd.oci.image.layer.nondistributable.')
  );
}

/** Drops parameters and case from a Content-Type header value. */
export function bareMediaType(header: string | undefined): string {
  if (!header) return '';
  const semi = header.indexOf(';');
  return (semi < 0 ? header : header.slice(0, semi)).trim().toLowerCase();
}
