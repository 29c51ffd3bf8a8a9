import type { Kysely } from 'kysely';
import type { Database } from '../../db/types.js';

/** Manifest types a scanner consumes (every registration's capability, built-in or remote). */
const scannableManifestTypes = ['application/vnd.oci.image.manifest.v1+json', 'application/vnd.docker.distribution.manifest.v2+json'];
const signatureTypes = ['signature.cosign', 'signature.notation'];

/** What the pull gate asks about an artifact; read-only queries on the registry's tables. */
export class ArtifactFacts {
  constructor(private readonly db: Kysely<Database>) {}

  /** Harbor's IsScannable: an image that is not an accessory, or an index with such a child. */
  async scannable(artifactId: number): Promise<boolean> {
    const self = await this.db
      .selectFrom('artifacts')
      .select(['type', 'media_type', 'accessory_of'])
      .where('id', '=', artifactId)
      .executeTakeFirst();
    if (!self || self.accessory_of !== null) return false;
    if (self.type === 'IMAGE' && scannableManifestTypes.includes(self.media_type)) return true;
    const child = await this.db
      .selectFrom('artifact_references as r')
      .innerJoin('artifacts as c', 'c.id', 'r.child_id')
      .select('c.id')
      .where('r.parent_id', '=', artifactId)
      .where('c.type', '=', 'IMAGE')
      .where('c.media_type', 'in', scannableManifestTypes)
      .where('c.accessory_of', 'is', null)
      .limit(1)
      .executeTakeFirst();
    return child !== undefined;
  }

  async scannableChildren(artifactId: number): Promise<string[]> {
    const rows = await this.db
      .selectFrom('artifact_references as r')
      .innerJoin('artifacts as c', 'c.id', 'r.child_id')
      .select('c.digest')
      .where('r.parent_id', '=', artifactId)
      .where('c.type', '=', 'IMAGE')
      .where('c.media_type', 'in', scannableManifestTypes)
      .where('c.accessory_of', 'is', null)
      .execute();
    return [...new Set(rows.map((r) => r.digest))];
  }

  async isSignature(artifactId: number): Promise<boolean> {
    const row = await this.db.selectFrom('artifacts').select('accessory_type').where('id', '=', artifactId).executeTakeFirst();
    return row?.accessory_type !== null && row?.accessory_type !== undefined && signatureTypes.includes(row.accessory_type);
  }
}
