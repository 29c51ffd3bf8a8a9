import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { evaluate } from '../../../src/scanning/vulndb/evaluate.js';
import { parseRecord, InvalidRecordError } from '../../../src/scanning/vulndb/record.js';
import { rate } from '../../../src/scanning/vulndb/severity.js';

describe('OSV range evaluation', () => {
  const twoRanges = {
    ranges: [{ type: 'ECOSYSTEM', events: [{ fixed: '1.2.0' }, { introduced: '0' }, { fixed: '2.1.0' }, { introduced: '2.0.0' }] }],
  };
  test('events are applied in version order, whatever order the record lists them in', () => {
    assert.deepEqual(evaluate('npm', '1.1.9', twoRanges), { affected: true, fixed: '1.2.0' });
    assert.deepEqual(evaluate('npm', '1.2.0', twoRanges), { affected: false, fixed: '' });
    assert.deepEqual(evaluate('npm', '1.9.0', twoRanges), { affected: false, fixed: '' });
    assert.deepEqual(evaluate('npm', '2.0.0', twoRanges), { affected: true, fixed: '2.1.0' });
    assert.deepEqual(evaluate('npm', '2.1.0', twoRanges), { affected: false, fixed: '' });
  });
  test('last_affected includes its version; limit bounds the range from above', () => {
    const last = { ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '1.0-1' }, { last_affected: '1.0-3' }] }] };
    assert.equal(evaluate('Debian', '0.9-1', last).affected, false);
    assert.equal(evaluate('Debian', '1.0-3', last).affected, true);
    assert.equal(evaluate('Debian', '1.0-3+b1', last).affected, false);
    const limited = { ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { limit: '3.0.0' }] }] };
    assert.equal(evaluate('crates.io', '2.9.9', limited).affected, true);
    assert.equal(evaluate('crates.io', '3.0.0', limited).affected, false);
  });
  test('versions[] lists affected versions exactly; GIT ranges are not evaluated', () => {
    const data = parseRecord({
      id: 'PYSEC-1',
      modified: '2024-01-01T00:00:00Z',
      affected: [
        {
          package: { ecosystem: 'PyPI', name: 'Foo_Bar.baz' },
          ranges: [{ type: 'GIT', repo: 'https://x', events: [{ introduced: '0' }, { fixed: 'abc123' }] }],
          versions: ['1.0', '1.1'],
        },
      ],
    }).affected[0];
    assert.equal(data.package, 'foo-bar-baz', 'PyPI names normalised per PEP 503');
    assert.equal(data.data.ranges, undefined);
    assert.equal(evaluate('PyPI', '1.1', data.data).affected, true);
    assert.equal(evaluate('PyPI', '1.2', data.data).affected, false);
  });
  test('a version the ecosystem cannot read is not affected by ranges', () => {
    assert.equal(evaluate('PyPI', 'not-a-version', { ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }] }] }).affected, false);
  });
  test('fix_version: the lowest fixed above the installed version, in the ecosystem’s order', () => {
    const data = {
      ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '1.10' }, { introduced: '1.2' }, { fixed: '1.9' }] }],
    };
    assert.deepEqual(evaluate('Maven', '1.0', data), { affected: true, fixed: '1.9' });
  });
});

describe('records', () => {
  test('what is not an OSV record is refused', () => {
    assert.throws(() => parseRecord([]), InvalidRecordError);
    assert.throws(() => parseRecord({ modified: 'x' }), /no id/);
    assert.throws(() => parseRecord({ id: 'X-1' }), /no modified time/);
    assert.throws(() => parseRecord({ id: 'X-1', modified: 'x', affected: {} }), /affected is not a list/);
  });
  test('Maven names keep group:artifact; a Debian release is kept beside the base ecosystem', () => {
    const r = parseRecord({
      id: 'X-2',
      modified: '2024-01-01T00:00:00Z',
      affected: [
        { package: { ecosystem: 'Maven', name: 'org.apache.logging.log4j:log4j-core' }, versions: ['2.14.1'] },
        { package: { ecosystem: 'Debian:12', name: 'apache-log4j2' }, versions: ['2.19.0-1'] },
      ],
    });
    assert.deepEqual(
      r.affected.map((a) => [a.ecosystem, a.package, a.ecosystemFull]),
      [
        ['Maven', 'org.apache.logging.log4j:log4j-core', 'Maven'],
        ['Debian', 'apache-log4j2', 'Debian:12'],
      ],
    );
  });
});

describe('severity', () => {
  test('from CVSS vectors: v3 first, then v4, then v2 (whose scale has no Critical)', () => {
    assert.equal(rate([{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' }], []).severity, 'Critical');
    assert.equal(rate([{ type: 'CVSS_V3', score: 'CVSS:3.0/AV:N/AC:H/PR:N/UI:N/S:U/C:L/I:N/A:N' }], []).severity, 'Low');
    assert.equal(
      rate([{ type: 'CVSS_V4', score: 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N' }], []).severity,
      'Critical',
    );
    const v2 = rate([{ type: 'CVSS_V2', score: 'AV:N/AC:L/Au:N/C:C/I:C/A:C' }], []);
    assert.deepEqual(v2, { severity: 'High', cvss: { V2Score: 10, V2Vector: 'AV:N/AC:L/Au:N/C:C/I:C/A:C' } });
  });
  test('without a readable vector: the advisory’s word (GHSA MODERATE is Medium, Ubuntu priorities), else Unknown', () => {
    assert.equal(rate([{ type: 'CVSS_V3', score: 'garbage' }], ['MODERATE']).severity, 'Medium');
    assert.equal(rate([{ type: 'Ubuntu', score: 'negligible' }], []).severity, 'Negligible');
    assert.equal(rate([], ['CRITICAL']).severity, 'Critical');
    assert.equal(rate([], ['not yet assigned']).severity, 'Unknown');
    assert.equal(rate([], []).severity, 'Unknown');
  });
});
