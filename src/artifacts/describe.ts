import type { ParsedManifest } from '../oci/manifest.js';
import type { ArtifactDescriber, ArtifactDescription } from '../registry/service.js';
import type { BlobStore } from '../storage/blobstore.js';
import { accessoryOf } from './accessories.js';
import { artifactContent } from './content.js';
import { accessoryIcon } from './icons.js';
import { artifactTypeOf, processorFor } from './processors/index.js';

/**
 * Describes a manifest as it is pushed: its processor's type, extra_attrs and icon, and
 * whether it is an accessory. A config that cannot be read or parsed leaves extra_attrs
 * empty; it never fails the push.
 */
export class ProcessorDescriber implements ArtifactDescriber {
  constructor(
    private readonly blobs: BlobStore,
    private readonly childManifest: (repositoryId: number, digest: string) => Promise<Uint8Array | undefined>,
    private readonly onError: (err: unknown) => void = () => {},
  ) {}

  async describe(repositoryId: number, manifest: ParsedManifest, tags: string[], stored = false): Promise<ArtifactDescription> {
    const processor = processorFor(manifest);
    let extraAttrs: Record<string, unknown> = {};
    try {
      // A stored artifact's extra_attrs were worked out when it was first pushed and are kept.
      if (!stored)
        extraAttrs = await processor.extraAttrs(artifactContent(manifest, this.blobs, (d) => this.childManifest(repositoryId, d)));
    } catch (err) {
      this.onError(err);
    }
    const accessory = accessoryOf(manifest, tags);
    return {
      type: artifactTypeOf(manifest, processor),
      configMediaType: manifest.config?.mediaType ?? null,
      extraAttrs: Object.keys(extraAttrs).length > 0 ? JSON.stringify(extraAttrs) : null,
      icon: (accessory && accessoryIcon(accessory.type)) ?? processor.icon,
      accessory,
    };
  }
}
