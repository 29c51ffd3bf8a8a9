import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { cyclonedxDocument, cyclonedxProperties } from '../../../src/scanning/sbom/cyclonedx.js';
import { isSbomMediaType, sbomDocument } from '../../../src/scanning/sbom/index.js';
import { declaredLicense } from '../../../src/scanning/sbom/licenses.js';
import { sbomReport } from '../../../src/scanning/sbom/report.js';
import { spdxDocument } from '../../../src/scanning/sbom/spdx.js';
import { imagePurl, type SbomSubject } from '../../../src/scanning/sbom/subject.js';
import { reportMimeTypes, sbomMediaTypes } from '../../../src/scanning/types.js';
import { requireTools } from '../../helpers/tools.js';
import { dpkgQueryInstalled, dpkgStatusText, edgeInventory, machineInventory, tool } from './fixtures.js';
import { assertValidCyclonedx, assertValidSpdx } from './validate.js';

const subject: SbomSubject = {
  repository: 'library/debian-tools',
  digest: `sha256:${'ab'.repeat(32)}`,
  tags: ['bookworm', 'latest'],
  registry: 'registry.example.com:5000',
};
const now = new Date('2026-03-04T05:06:07.890Z');

describe('SPDX 2.3 documents', () => {
  const inventory = machineInventory();

  test("an inventory of this machine's real packages validates against the official SPDX 2.3 schema", () => {
    assert.ok(inventory.packages.length > 100, 'the machine has packages to describe');
    const doc = spdxDocument(inventory, subject, tool, now);
    assertValidSpdx(doc);
    assert.equal(doc.spdxVersion, 'SPDX-2.3');
    assert.equal(doc.dataLicense, 'CC0-1.0');
    assert.equal(doc.name, `library/debian-tools@${subject.digest}`);
    assert.equal(doc.creationInfo.created, '2026-03-04T05:06:07Z');
    assert.deepEqual(doc.creationInfo.creators, ['Tool: Berth built-in-0.1.0', 'Organization: Berth']);
    assert.equal(doc.packages.length, inventory.packages.length + 2, 'the image, the OS and one package each');
  });

  test('the image is the described root, the OS a package of purpose OPERATING_SYSTEM holding the OS packages', () => {
    const doc = spdxDocument(inventory, subject, tool, now);
    const describes = doc.relationships.filter((r) => r.relationshipType === 'DESCRIBES');
    assert.equal(describes.length, 1);
    assert.equal(describes[0].spdxElementId, 'SPDXRef-DOCUMENT');
    const image = doc.packages.find((p) => p.SPDXID === describes[0].relatedSpdxElement)!;
    assert.equal(image.primaryPackagePurpose, 'CONTAINER');
    assert.equal(image.name, 'library/debian-tools');
    assert.equal(image.versionInfo, subject.digest);
    assert.deepEqual(image.checksums, [{ algorithm: 'SHA256', checksumValue: 'ab'.repeat(32) }]);
    assert.deepEqual(image.externalRefs, [
      { referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: imagePurl(subject) },
    ]);
    assert.match(
      imagePurl(subject),
      /^pkg:oci\/debian-tools@sha256(:|%3A)(ab){32}\?repository_url=registry\.example\.com%3A5000%2Flibrary%2Fdebian-tools&tag=bookworm$/,
    );

    const os = doc.packages.filter((p) => p.primaryPackagePurpose === 'OPERATING_SYSTEM');
    assert.equal(os.length, 1);
    assert.equal(os[0].name, inventory.os!.family);
    assert.equal(os[0].versionInfo, inventory.os!.version);
    const containedBy = new Map(
      doc.relationships.filter((r) => r.relationshipType === 'CONTAINS').map((r) => [r.relatedSpdxElement, r.spdxElementId]),
    );
    assert.equal(containedBy.get(os[0].SPDXID), image.SPDXID);
    for (const p of doc.packages.filter((p) => p.primaryPackagePurpose === 'LIBRARY')) {
      const purl = p.externalRefs![0].referenceLocator;
      assert.equal(containedBy.get(p.SPDXID), purl.startsWith('pkg:deb/') ? os[0].SPDXID : image.SPDXID, purl);
    }
  });

  test(
    'every installed dpkg package is there with its version, as dpkg-query lists them',
    { skip: requireTools('dpkg-query') },
    async () => {
      const expected = await dpkgQueryInstalled(dpkgStatusText);
      const doc = spdxDocument(inventory, subject, tool, now);
      const listed = doc.packages
        .filter((p) => p.externalRefs?.[0].referenceLocator.startsWith('pkg:deb/'))
        .map((p) => `${p.name} ${p.versionInfo}`)
        .sort();
      assert.ok(expected.length > 50);
      assert.deepEqual(listed, expected);
    },
  );

  test('each package: NOASSERTION download, files not analysed, a purl of category PACKAGE-MANAGER, supplier when known', () => {
    const doc = spdxDocument(inventory, subject, tool, now);
    const libc = doc.packages.find((p) => p.name === 'libc6')!;
    assert.ok(libc, 'libc6 is installed here');
    assert.equal(libc.downloadLocation, 'NOASSERTION');
    assert.equal(libc.filesAnalyzed, false);
    assert.match(libc.supplier!, /^Organization: .+ \(.+@.+\)$/);
    assert.equal(libc.sourceInfo, 'built from source package glibc ' + libc.versionInfo);
    assert.match(libc.externalRefs![0].referenceLocator, /^pkg:deb\/debian\/libc6@/);
    for (const p of doc.packages.filter((p) => p.primaryPackagePurpose === 'LIBRARY')) {
      assert.equal(p.externalRefs?.length, 1, p.name);
      assert.equal(p.externalRefs![0].referenceCategory, 'PACKAGE-MANAGER');
      assert.equal(p.externalRefs![0].referenceType, 'purl');
    }
  });

  test('a licence that is not an SPDX expression is NOASSERTION with the text kept in licenseComments', () => {
    const doc = spdxDocument(edgeInventory(), subject, tool, now);
    assertValidSpdx(doc);
    const byName = (name: string) => doc.packages.filter((p) => p.name === name);
    assert.equal(byName('musl')[0].licenseDeclared, 'MIT');
    assert.equal(byName('musl')[0].supplier, 'Organization: Timo Teräs (timo.teras@iki.fi)');
    assert.equal(byName('libcrypto3')[0].licenseDeclared, 'Apache-2.0 WITH LLVM-exception OR (MIT AND GPL-2.0+)');
    for (const [name, text] of [
      ['requests', 'BSD'],
      ['odd', 'LicenseRef-Proprietary'],
      ['log4j-core', 'Apache License, Version 2.0'],
    ]) {
      const p = doc.packages.find((p) => p.name === name || p.name.endsWith(`:${name}`))!;
      assert.equal(p.licenseDeclared, 'NOASSERTION', name);
      assert.equal(p.licenseComments, `declared licence, not an SPDX expression: ${text}`);
    }
    assert.equal(byName('busybox')[0].supplier, 'Organization: Cloud SDK Authors', 'a URL is not an email');
    assert.equal(byName('stdlib')[0].supplier, 'Organization: Red Hat, Inc.');
    const guava = byName('com.google.guava:guava');
    assert.equal(guava.length, 3);
    assert.equal(new Set(guava.map((p) => p.SPDXID)).size, 3, 'three entries, three ids');
    assert.equal(byName('serde_json')[0].versionInfo, undefined, 'no version: no versionInfo');
    assert.match(doc.packages[1].SPDXID, /^SPDXRef-OperatingSystem-alpine$/);
  });

  test("the machine's Python and npm licences are sorted into expressions and text, never an invalid expression", () => {
    const doc = spdxDocument(inventory, subject, tool, now);
    const withText = doc.packages.filter((p) => p.licenseComments);
    const withExpression = doc.packages.filter((p) => p.licenseDeclared && p.licenseDeclared !== 'NOASSERTION');
    assert.ok(withExpression.length > 10, 'npm packages declare SPDX ids');
    const python = inventory.packages.filter((p) => p.ecosystem === 'PyPI' && p.license === 'MIT License');
    for (const p of python)
      assert.ok(
        withText.some((d) => d.name === p.name),
        `${p.name}: "MIT License" is text`,
      );
  });

  test('documentNamespace is unique per document', () => {
    const a = spdxDocument(edgeInventory(), subject, tool, now);
    const b = spdxDocument(edgeInventory(), subject, tool, now);
    assert.notEqual(a.documentNamespace, b.documentNamespace);
    assert.deepEqual(
      { ...a, documentNamespace: '' },
      { ...b, documentNamespace: '' },
      'otherwise the same inventory gives the same document',
    );
  });

  test('an image without an OS: packages are contained by the image; no OS package', () => {
    const doc = spdxDocument({ ...edgeInventory(), os: null }, { repository: 'p/app', digest: subject.digest }, tool, now);
    assertValidSpdx(doc);
    assert.equal(doc.packages.filter((p) => p.primaryPackagePurpose === 'OPERATING_SYSTEM').length, 0);
    const image = doc.packages[0].SPDXID;
    assert.ok(doc.relationships.filter((r) => r.relationshipType === 'CONTAINS').every((r) => r.spdxElementId === image));
    assert.match(imagePurl({ repository: 'p/App', digest: subject.digest }), /^pkg:oci\/app@.*repository_url=p%2FApp$/);
  });
});

describe('CycloneDX 1.6 documents', () => {
  const inventory = machineInventory();

  test("an inventory of this machine's real packages validates with the CycloneDX library's 1.6 JSON validator", async () => {
    const doc = cyclonedxDocument(inventory, subject, tool, now);
    await assertValidCyclonedx(doc);
    assert.equal(doc.bomFormat, 'CycloneDX');
    assert.equal(doc.specVersion, '1.6');
    assert.match(String(doc.serialNumber), /^urn:uuid:[0-9a-f-]{36}$/);
    const components = doc.components as Array<Record<string, any>>;
    assert.equal(components.length, inventory.packages.length + 1, 'the OS and one component per package');
  });

  test('the image is the metadata component (container), the OS a component depending on the OS packages', () => {
    const doc = cyclonedxDocument(inventory, subject, tool, now) as Record<string, any>;
    const image = doc.metadata.component;
    assert.equal(image.type, 'container');
    assert.equal(image.name, 'library/debian-tools');
    assert.equal(image.version, subject.digest);
    assert.equal(image.purl, imagePurl(subject));
    assert.deepEqual(image.hashes, [{ alg: 'SHA-256', content: 'ab'.repeat(32) }]);
    assert.deepEqual(
      image.properties.map((p: { value: string }) => p.value),
      ['bookworm', 'latest'],
    );
    assert.equal(doc.metadata.timestamp, '2026-03-04T05:06:07.890Z');
    assert.equal(doc.metadata.tools.components[0].name, 'Berth built-in');
    assert.equal(doc.metadata.tools.components[0].version, '0.1.0');

    const components = doc.components as Array<Record<string, any>>;
    const os = components.filter((c) => c.type === 'operating-system');
    assert.equal(os.length, 1);
    const deps = new Map<string, string[]>(doc.dependencies.map((d: { ref: string; dependsOn?: string[] }) => [d.ref, d.dependsOn ?? []]));
    assert.ok(deps.get(image['bom-ref'])!.includes(os[0]['bom-ref']));
    const debRefs = components.filter((c) => String(c.purl).startsWith('pkg:deb/')).map((c) => c['bom-ref']);
    assert.deepEqual([...deps.get(os[0]['bom-ref'])!].sort(), [...debRefs].sort());
    const refs = [image['bom-ref'], ...components.map((c) => c['bom-ref'])];
    assert.equal(new Set(refs).size, refs.length, 'bom-refs are unique');
  });

  test('libraries carry purl, version, licences and where they were found', async () => {
    const doc = cyclonedxDocument(edgeInventory(), subject, tool, now) as Record<string, any>;
    await assertValidCyclonedx(doc);
    const components = doc.components as Array<Record<string, any>>;
    const find = (name: string) => components.filter((c) => c.name === name);
    assert.deepEqual(find('musl')[0].licenses, [{ license: { id: 'MIT' } }]);
    assert.deepEqual(find('musl')[0].supplier, { name: 'Timo Teräs', contact: [{ email: 'timo.teras@iki.fi' }] });
    assert.deepEqual(find('busybox')[0].supplier, { name: 'Cloud SDK Authors', url: ['https://example.com/sdk/'] });
    assert.deepEqual(find('stdlib')[0].supplier, { name: 'Red Hat, Inc.' });
    assert.deepEqual(find('libcrypto3')[0].licenses, [{ expression: 'Apache-2.0 WITH LLVM-exception OR (MIT AND GPL-2.0+)' }]);
    assert.deepEqual(find('requests')[0].licenses, [{ license: { name: 'BSD' } }]);
    assert.deepEqual(find('core')[0].group, '@babel');
    assert.deepEqual(find('log4j-core')[0].group, 'org.apache.logging.log4j');
    const guava = find('guava');
    assert.equal(guava.length, 3);
    assert.equal(new Set(guava.map((c) => c['bom-ref'])).size, 3);
    assert.equal(guava[0]['bom-ref'], 'pkg:maven/com.google.guava/guava@32.0.0');
    const props = Object.fromEntries(find('libcrypto3')[0].properties.map((p: { name: string; value: string }) => [p.name, p.value]));
    assert.equal(props[cyclonedxProperties.sourceName], 'openssl');
    assert.equal(props[cyclonedxProperties.path], 'usr/lib/app');
    assert.equal(props[cyclonedxProperties.layer], '0');
    assert.equal(find('serde_json')[0].version, undefined);
  });
});

describe('licence strings', () => {
  test('valid expressions come back with upper-case operators; anything else is text', () => {
    assert.deepEqual(declaredLicense('MIT'), { kind: 'expression', expression: 'MIT', single: 'MIT' });
    assert.deepEqual(declaredLicense(' GPL-2.0+ '), { kind: 'expression', expression: 'GPL-2.0+', single: null });
    assert.deepEqual(declaredLicense('MIT or Apache-2.0'), { kind: 'expression', expression: 'MIT OR Apache-2.0', single: null });
    assert.deepEqual(declaredLicense('(MIT OR Apache-2.0) AND BSD-3-Clause'), {
      kind: 'expression',
      expression: '(MIT OR Apache-2.0) AND BSD-3-Clause',
      single: null,
    });
    assert.deepEqual(declaredLicense('MIT License'), { kind: 'text', text: 'MIT License' });
    assert.deepEqual(declaredLicense('mit'), { kind: 'text', text: 'mit' });
    assert.deepEqual(declaredLicense('LicenseRef-x OR MIT'), { kind: 'text', text: 'LicenseRef-x OR MIT' });
    assert.equal(declaredLicense(''), null);
    assert.equal(declaredLicense(undefined), null);
  });
});

describe('sbomDocument and sbomReport', () => {
  test('the media type picks the format; anything else is refused', () => {
    assert.equal(sbomDocument(sbomMediaTypes.spdx, edgeInventory(), subject, tool, now).spdxVersion, 'SPDX-2.3');
    assert.equal(sbomDocument(sbomMediaTypes.cyclonedx, edgeInventory(), subject, tool, now).specVersion, '1.6');
    assert.throws(
      () => sbomDocument('text/plain' as never, edgeInventory(), subject, tool, now),
      /no SBOM format for media type text\/plain/,
    );
    assert.equal(isSbomMediaType('application/spdx+json'), true);
    assert.equal(isSbomMediaType('application/vnd.cyclonedx+json'), true);
    assert.equal(isSbomMediaType(reportMimeTypes.sbom), false);
  });

  test('the Pluggable Scanner API report carries the document, its media type, the artifact and the scanner', () => {
    const doc = sbomDocument(sbomMediaTypes.spdx, edgeInventory(), subject, tool, now);
    const artifact = {
      repository: subject.repository,
      digest: subject.digest,
      tag: 'latest',
      mime_type: 'application/vnd.oci.image.manifest.v1+json',
    };
    const report = sbomReport(doc, sbomMediaTypes.spdx, artifact, { ...tool }, now);
    assert.deepEqual(report, {
      generated_at: '2026-03-04T05:06:07.890Z',
      artifact,
      scanner: tool,
      vendor_attributes: {},
      media_type: 'application/spdx+json',
      sbom: doc,
    });
    assert.deepEqual(Object.keys(JSON.parse(JSON.stringify(report))).sort(), [
      'artifact',
      'generated_at',
      'media_type',
      'sbom',
      'scanner',
      'vendor_attributes',
    ]);
  });
});
