import { randomUUID } from 'node:crypto';
import { Enums, Models, Serialize, Spec } from '@cyclonedx/cyclonedx-library';
import type { Inventory, Package, ScannerInfo } from '../types.js';
import { declaredLicense } from './licenses.js';
import { imagePurl, isOsPackage, parseSupplier, subjectChecksum, subjectName, type SbomSubject } from './subject.js';

const serializer = new Serialize.JsonSerializer(new Serialize.JSON.Normalize.Factory(Spec.Spec1dot6));

/** Property names Berth adds to components (CycloneDX leaves the namespace to the producer). */
export const cyclonedxProperties = {
  path: 'berth:package:path',
  layer: 'berth:package:layer',
  ecosystem: 'berth:package:ecosystem',
  sourceName: 'berth:package:source_name',
  sourceVersion: 'berth:package:source_version',
  arch: 'berth:package:arch',
  tag: 'berth:image:tag',
} as const;

function licensesOf(pkg: Package): Models.LicenseRepository {
  const repository = new Models.LicenseRepository();
  const license = declaredLicense(pkg.license);
  if (license?.kind === 'expression') {
    repository.add(license.single ? new Models.SpdxLicense(license.single) : new Models.LicenseExpression(license.expression));
  } else if (license?.kind === 'text') {
    repository.add(new Models.NamedLicense(license.text));
  }
  return repository;
}

function supplierOf(value: string | undefined): Models.OrganizationalEntity | undefined {
  const supplier = parseSupplier(value);
  if (!supplier) return undefined;
  const entity = new Models.OrganizationalEntity({ name: supplier.name });
  if (supplier.email) entity.contact.add(new Models.OrganizationalContact({ email: supplier.email }));
  if (supplier.url) entity.url.add(supplier.url);
  return entity;
}

/** Maven names are `group:artifact`, scoped npm names `@scope/name`: CycloneDX keeps the group apart. */
function splitName(pkg: Package): { group?: string; name: string } {
  if (pkg.ecosystem === 'Maven') {
    const i = pkg.name.indexOf(':');
    if (i > 0) return { group: pkg.name.slice(0, i), name: pkg.name.slice(i + 1) };
  }
  if (pkg.ecosystem === 'npm' && pkg.name.startsWith('@')) {
    const i = pkg.name.indexOf('/');
    if (i > 0) return { group: pkg.name.slice(0, i), name: pkg.name.slice(i + 1) };
  }
  return { name: pkg.name };
}

function properties(entries: [string, string | number | undefined][]): Models.PropertyRepository {
  return new Models.PropertyRepository(
    entries
      .filter((e): e is [string, string | number] => e[1] !== undefined && e[1] !== '')
      .map(([k, v]) => new Models.Property(k, String(v))),
  );
}

/** bom-refs: the purl where it is unique in the document, else the purl with a counter. */
class RefAllocator {
  private readonly used = new Set<string>();

  take(base: string): string {
    let ref = base;
    for (let n = 2; this.used.has(ref); n++) ref = `${base}#${n}`;
    this.used.add(ref);
    return ref;
  }
}

function libraryComponent(pkg: Package, refs: RefAllocator): Models.Component {
  const { group, name } = splitName(pkg);
  return new Models.Component(Enums.ComponentType.Library, name, {
    bomRef: refs.take(pkg.purl),
    ...(group && { group }),
    ...(pkg.version && { version: pkg.version }),
    purl: pkg.purl,
    licenses: licensesOf(pkg),
    supplier: supplierOf(pkg.supplier),
    properties: properties([
      [cyclonedxProperties.ecosystem, pkg.ecosystem],
      [cyclonedxProperties.path, pkg.path],
      [cyclonedxProperties.layer, pkg.layer],
      [cyclonedxProperties.sourceName, pkg.sourceName],
      [cyclonedxProperties.sourceVersion, pkg.sourceVersion],
      [cyclonedxProperties.arch, pkg.arch],
    ]),
  });
}

/**
 * A CycloneDX 1.6 JSON document for one image: the image as the metadata component (type
 * container), the operating system as a component of type operating-system depending on the
 * OS packages, and every package as a library with its purl and licence. Built with the
 * CycloneDX library's model and serializer.
 */
export function cyclonedxDocument(
  inventory: Inventory,
  subject: SbomSubject,
  tool: ScannerInfo,
  now: Date = new Date(),
): Record<string, unknown> {
  const refs = new RefAllocator();
  const bom = new Models.Bom({ serialNumber: `urn:uuid:${randomUUID()}` });
  const checksum = subjectChecksum(subject);
  const image = new Models.Component(Enums.ComponentType.Container, subject.repository, {
    bomRef: refs.take(imagePurl(subject)),
    version: subject.digest,
    purl: imagePurl(subject),
    description: subjectName(subject),
    properties: properties((subject.tags ?? []).map((t) => [cyclonedxProperties.tag, t])),
  });
  if (checksum)
    image.hashes.set(checksum.algorithm === 'SHA256' ? Enums.HashAlgorithm['SHA-256'] : Enums.HashAlgorithm['SHA-512'], checksum.hex);
  bom.metadata.timestamp = now;
  bom.metadata.component = image;
  bom.metadata.tools.components.add(
    new Models.Component(Enums.ComponentType.Application, tool.name, {
      version: tool.version,
      ...(tool.vendor && { publisher: tool.vendor }),
    }),
  );

  let os: Models.Component | null = null;
  if (inventory.os) {
    os = new Models.Component(Enums.ComponentType.OperatingSystem, inventory.os.family, {
      bomRef: refs.take(`os:${inventory.os.family}@${inventory.os.version}`),
      version: inventory.os.version,
      ...(inventory.os.name && { description: inventory.os.name }),
    });
    bom.components.add(os);
    image.dependencies.add(os.bomRef);
  }
  for (const pkg of inventory.packages) {
    const component = libraryComponent(pkg, refs);
    bom.components.add(component);
    (os !== null && isOsPackage(pkg) ? os : image).dependencies.add(component.bomRef);
  }
  return JSON.parse(serializer.serialize(bom, { sortLists: false })) as Record<string, unknown>;
}
