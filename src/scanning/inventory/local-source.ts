/**
 * An image in Berth's own registry, read in process: manifests as the registry stores them
 * and blobs straight from the blob store, both scoped to one repository (a blob another
 * repository holds is not readable through this one, as over /v2).
 */
import { Readable } from 'node:stream';
import type { RegistryService } from '../../registry/service.js';
import type { ImageSource } from '../types.js';

/** The part of RegistryService the source needs (tests and other callers may pass their own). */
export type LocalRegistry = Pick<RegistryService, 'getManifest' | 'openBlob'>;

export class LocalImageSource implements ImageSource {
  constructor(
    private readonly registry: LocalRegistry,
    readonly repository: string,
  ) {}

  async manifest(digest: string): Promise<{ mediaType: string; bytes: Uint8Array }> {
    // A null puller: a scan reading the manifest is not a pull (no pull time, no audit entry).
    const manifest = await this.registry.getManifest(this.repository, digest, null);
    return { mediaType: manifest.mediaType, bytes: manifest.bytes };
  }

  async blob(digest: string): Promise<Readable> {
    const body = await this.registry.openBlob(this.repository, digest);
    return body instanceof Readable
      ? body
      : Readable.from([Buffer.from(body.buffer, body.byteOffset, body.byteLength)], { objectMode: false });
  }
}
