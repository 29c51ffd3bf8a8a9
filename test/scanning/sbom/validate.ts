import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Spec, Validation } from '@cyclonedx/cyclonedx-library';
import { Ajv } from 'ajv';
import parseSpdxExpression from 'spdx-expression-parse';
import type { SpdxDocument } from '../../../src/scanning/sbom/spdx.js';

// The official SPDX 2.3 JSON schema (spdx/spdx-spec, support/2.3, schemas/spdx-schema.json; CC-BY-3.0, see its README).
const spdxSchema = JSON.parse(readFileSync(new URL('../../fixtures/spdx/spdx-schema-2.3.json', import.meta.url), 'utf8')) as object;
const validateSpdx = new Ajv({ allErrors: true, strict: false }).compile(spdxSchema);
const cyclonedxValidator = new Validation.JsonStrictValidator(Spec.Version.v1dot6);
const spdxId = /^SPDXRef-[A-Za-z0-9.-]+$/;

/** The SPDX 2.3 schema, plus what the schema leaves to the spec's text: ids, references, licences, dates. */
export function assertValidSpdx(doc: SpdxDocument): void {
  const ok = validateSpdx(doc);
  assert.ok(ok, `schema errors: ${JSON.stringify(validateSpdx.errors?.slice(0, 5))}`);
  const ids = new Set<string>(['SPDXRef-DOCUMENT']);
  for (const p of doc.packages) {
    assert.match(p.SPDXID, spdxId);
    assert.ok(!ids.has(p.SPDXID), `${p.SPDXID} is used twice`);
    ids.add(p.SPDXID);
    for (const field of ['licenseDeclared', 'licenseConcluded'] as const) {
      const value = p[field];
      if (value !== undefined && value !== 'NOASSERTION' && value !== 'NONE') {
        assert.doesNotThrow(() => parseSpdxExpression(value), `${p.name}: ${field} "${value}" is not an SPDX expression`);
        assert.doesNotMatch(value, /LicenseRef-/, 'a LicenseRef would need hasExtractedLicensingInfos');
      }
    }
  }
  for (const r of doc.relationships) {
    assert.ok(ids.has(r.spdxElementId), `relationship from unknown ${r.spdxElementId}`);
    assert.ok(ids.has(r.relatedSpdxElement), `relationship to unknown ${r.relatedSpdxElement}`);
  }
  assert.match(doc.creationInfo.created, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.doesNotMatch(doc.documentNamespace, /#/);
  assert.ok(URL.canParse(doc.documentNamespace));
}

/** The CycloneDX library's strict JSON validator for 1.6. */
export async function assertValidCyclonedx(doc: Record<string, unknown>): Promise<void> {
  const error = await cyclonedxValidator.validate(JSON.stringify(doc));
  assert.equal(error, null, `CycloneDX 1.6 schema: ${JSON.stringify(error)}`);
}
