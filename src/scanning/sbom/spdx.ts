import { createHash, randomUUID } from 'node:crypto';
import type { Inventory, Package, ScannerInfo } from '../types.js';
import { declaredLicense } from './licenses.js';
import { imagePurl, isOsPackage, parseSupplier, subjectChecksum, subjectName, type SbomSubject } from './subject.js';

/** The parts of an SPDX 2.3 JSON document Berth writes (field names as the spec's JSON schema has them). */
export interface SpdxDocument {
  spdxVersion: 'SPDX-2.3';
  dataLicense: 'CC0-1.0';
  SPDXID: 'SPDXRef-DOCUMENT';
  name: string;
  documentNamespace: string;
  creationInfo: { created: string; creators: string[] };
  packages: SpdxPackage[];
  relationships: SpdxRelationship[];
}

export interface SpdxPackage {
  SPDXID: string;
  name: string;
  versionInfo?: string;
  supplier?: string;
  downloadLocation: 'NOASSERTION';
  filesAnalyzed: false;
  checksums?: { algorithm: string; checksumValue: string }[];
  sourceInfo?: string;
  licenseConcluded?: string;
  licenseDeclared?: string;
  licenseComments?: string;
  copyrightText?: string;
  comment?: string;
  externalRefs?: { referenceCategory: 'PACKAGE-MANAGER'; referenceType: 'purl'; referenceLocator: string }[];
  primaryPackagePurpose: 'CONTAINER' | 'OPERATING_SYSTEM' | 'LIBRARY';
}

export interface SpdxRelationship {
  spdxElementId: string;
  relationshipType: 'DESCRIBES' | 'CONTAINS';
  relatedSpdxElement: string;
}

const noAssertion = 'NOASSERTION';

/** SPDX ids allow only letters, digits, `.` and `-` after `SPDXRef-`. */
function idPart(value: string): string {
  const cleaned = value.replace(/[^A-Za-z0-9.-]+/g, '-').replace(/^-+|-+$/g, '');
  return cleaned.slice(0, 64) || 'x';
}

/** SPDX wants `YYYY-MM-DDThh:mm:ssZ`, without fractions of a second. */
function spdxTime(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** SPDX's `Organization: name (email)`; the email only when there is one. */
export function spdxSupplier(value: string | undefined): string | undefined {
  const supplier = parseSupplier(value);
  if (!supplier) return undefined;
  return `Organization: ${supplier.name}${supplier.email ? ` (${supplier.email})` : ''}`;
}

/** Ids that stay the same for the same inventory and never collide within a document. */
class IdAllocator {
  private readonly used = new Set<string>();

  take(base: string): string {
    let id = base;
    for (let n = 2; this.used.has(id); n++) id = `${base}-${n}`;
    this.used.add(id);
    return id;
  }

  forPackage(pkg: Package): string {
    const hash = createHash('sha256').update(`${pkg.purl}\n${pkg.path}`).digest('hex').slice(0, 12);
    return this.take(`SPDXRef-Package-${idPart(pkg.name)}-${hash}`);
  }
}

function packageEntry(pkg: Package, id: string): SpdxPackage {
  const license = declaredLicense(pkg.license);
  const source =
    pkg.sourceName && (pkg.sourceName !== pkg.name || (pkg.sourceVersion && pkg.sourceVersion !== pkg.version))
      ? `built from source package ${pkg.sourceName}${pkg.sourceVersion ? ` ${pkg.sourceVersion}` : ''}`
      : undefined;
  const supplier = spdxSupplier(pkg.supplier);
  return {
    SPDXID: id,
    name: pkg.name,
    ...(pkg.version && { versionInfo: pkg.version }),
    ...(supplier && { supplier }),
    downloadLocation: noAssertion,
    filesAnalyzed: false,
    ...(source && { sourceInfo: source }),
    licenseConcluded: noAssertion,
    licenseDeclared: license?.kind === 'expression' ? license.expression : noAssertion,
    ...(license?.kind === 'text' && { licenseComments: `declared licence, not an SPDX expression: ${license.text}` }),
    copyrightText: noAssertion,
    comment: `found in /${pkg.path} (layer ${pkg.layer})`,
    externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: pkg.purl }],
    primaryPackagePurpose: 'LIBRARY',
  };
}

/**
 * An SPDX 2.3 JSON document for one image: the image as the described root package (purpose
 * CONTAINER, with its `pkg:oci` purl), the operating system as a package of purpose
 * OPERATING_SYSTEM (the JSON schema's spelling) containing the OS packages, and every other package contained by the image.
 */
export function spdxDocument(inventory: Inventory, subject: SbomSubject, tool: ScannerInfo, now: Date = new Date()): SpdxDocument {
  const ids = new IdAllocator();
  const name = subjectName(subject);
  const checksum = subjectChecksum(subject);
  const imageId = ids.take(`SPDXRef-Image-${idPart(subject.repository)}`);
  const image: SpdxPackage = {
    SPDXID: imageId,
    name: subject.repository,
    versionInfo: subject.digest,
    downloadLocation: noAssertion,
    filesAnalyzed: false,
    ...(checksum && { checksums: [{ algorithm: checksum.algorithm, checksumValue: checksum.hex }] }),
    ...(subject.tags?.length && { comment: `tags: ${subject.tags.join(', ')}` }),
    externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: imagePurl(subject) }],
    primaryPackagePurpose: 'CONTAINER',
  };
  const packages: SpdxPackage[] = [image];
  const relationships: SpdxRelationship[] = [
    { spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: imageId },
  ];

  let osId: string | null = null;
  if (inventory.os) {
    osId = ids.take(`SPDXRef-OperatingSystem-${idPart(inventory.os.family)}`);
    packages.push({
      SPDXID: osId,
      name: inventory.os.family,
      versionInfo: inventory.os.version,
      downloadLocation: noAssertion,
      filesAnalyzed: false,
      ...(inventory.os.name && { comment: inventory.os.name }),
      primaryPackagePurpose: 'OPERATING_SYSTEM',
    });
    relationships.push({ spdxElementId: imageId, relationshipType: 'CONTAINS', relatedSpdxElement: osId });
  }

  for (const pkg of inventory.packages) {
    const id = ids.forPackage(pkg);
    packages.push(packageEntry(pkg, id));
    const parent = osId !== null && isOsPackage(pkg) ? osId : imageId;
    relationships.push({ spdxElementId: parent, relationshipType: 'CONTAINS', relatedSpdxElement: id });
  }

  const creators = [`Tool: ${tool.name}-${tool.version}`];
  if (tool.vendor) creators.push(`Organization: ${tool.vendor}`);
  return {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name,
    // Unique per document, as the spec asks; a URI that needs no host of Berth's own.
    documentNamespace: `https://spdx.org/spdxdocs/${encodeURIComponent(idPart(subject.repository))}-${randomUUID()}`,
    creationInfo: { created: spdxTime(now), creators },
    packages,
    relationships,
  };
}
