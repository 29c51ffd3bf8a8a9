import assert from 'node:assert/strict';
import { createHash, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { api, createUser } from '../helpers/api.js';
import { basicAuth, startServer, type TestServer } from '../helpers/server.js';
import { cosignKeyPair } from '../helpers/cosign-sign.js';
import { assertError, createProject } from '../projects/fixtures.js';
import { selfSignedCertificate as certificate } from './fixtures.js';

let server: TestServer;
let admin: string;
let developer: string;
let guest: string;
let outsider: string;
let projectId: number;
const base = '/projects/keys/trust/keys';

/** A trusted_root.json as Sigstore's TUF repository ships it, over a CA and a log key made here. */
async function trustedRoot(): Promise<string> {
  const ca = await certificate('fulcio test root', true);
  const rekor = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ format: 'der', type: 'spki' });
  return JSON.stringify({
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [
      {
        baseUrl: 'https://rekor.example.com',
        hashAlgorithm: 'SHA2_256',
        publicKey: {
          rawBytes: rekor.toString('base64'),
          keyDetails: 'PKIX_ECDSA_P256_SHA_256',
          validFor: { start: '2024-01-01T00:00:00Z' },
        },
        logId: { keyId: createHash('sha256').update(rekor).digest('base64') },
      },
    ],
    certificateAuthorities: [
      {
        subject: { organization: 'test', commonName: 'fulcio test root' },
        uri: 'https://fulcio.example.com',
        certChain: { certificates: [{ rawBytes: ca.der.toString('base64') }] },
        validFor: { start: '2024-01-01T00:00:00Z' },
      },
    ],
    ctlogs: [],
    timestampAuthorities: [],
  });
}

async function keyRows() {
  return server.berth.database.db.selectFrom('trust_keys').selectAll().orderBy('id').execute();
}

async function auditCount() {
  await server.berth.pulls.flush(); // pull audit records are written in batches
  const row = await server.berth.database.db
    .selectFrom('audit_logs')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('resource_type', '=', 'trust_key')
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

before(async () => {
  server = await startServer();
  admin = server.admin.authorization;
  projectId = await createProject(server, { project_name: 'keys', metadata: { public: 'false' } });
  for (const [name, role] of [
    ['keydev', 2],
    ['keyguest', 3],
  ] as const) {
    await createUser(server, name);
    const res = await api(server, 'POST', '/projects/keys/members', {
      auth: admin,
      body: { role_id: role, member_user: { username: name } },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
  }
  await createUser(server, 'keyoutsider');
  developer = basicAuth('keydev', 'Passw0rd1');
  guest = basicAuth('keyguest', 'Passw0rd1');
  outsider = basicAuth('keyoutsider', 'Passw0rd1');
});

after(() => server.stop());

describe('trusted keys API', () => {
  const created: Record<string, number> = {};

  test('each type is accepted, fingerprinted, listed, read and audited', async () => {
    const ecdsa = cosignKeyPair('ecdsa-p256');
    const ed25519 = cosignKeyPair('ed25519');
    const rsa = cosignKeyPair('rsa-2048');
    const ca = await certificate('notation test root', true);
    const root = await trustedRoot();
    const bodies = [
      { name: 'release-ecdsa', type: 'cosign', pem: ecdsa.publicPem },
      { name: 'release-ed25519', type: 'cosign', pem: ed25519.publicPem },
      { name: 'release-rsa', type: 'cosign', pem: rsa.publicPem },
      { name: 'notation-root', type: 'notation-ca', pem: ca.pem },
      { name: 'sigstore', type: 'sigstore-root', pem: root },
    ];
    for (const body of bodies) {
      const res = await api(server, 'POST', base, { auth: admin, body });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      const location = res.headers.get('location')!;
      assert.match(location, /^\/api\/v2\.0\/projects\/keys\/trust\/keys\/\d+$/);
      created[body.name] = Number(location.split('/').pop());
    }
    const list = await api(server, 'GET', base, { auth: admin });
    assert.equal(list.status, 200);
    assert.equal(list.headers.get('x-total-count'), '5');
    assert.deepEqual(
      list.body.map((k: any) => [k.name, k.type]),
      bodies.map((b) => [b.name, b.type]),
    );
    const spki = createPublicKey(ecdsa.publicPem).export({ format: 'der', type: 'spki' });
    const first = list.body[0];
    assert.deepEqual(Object.keys(first).sort(), ['creation_time', 'fingerprint', 'id', 'name', 'pem', 'project_id', 'type']);
    assert.equal(first.fingerprint, createHash('sha256').update(spki).digest('hex'));
    assert.equal(first.project_id, projectId);
    assert.equal(list.body[3].fingerprint, createHash('sha256').update(ca.der).digest('hex'));
    assert.equal(list.body[4].fingerprint, createHash('sha256').update(root).digest('hex'));
    assert.equal(list.body[4].pem, root);

    const one = await api(server, 'GET', `${base}/${created['notation-root']}`, { auth: admin });
    assert.equal(one.status, 200);
    assert.equal(one.body.name, 'notation-root');
    const byId = await api(server, 'GET', `/projects/${projectId}/trust/keys?page=2&page_size=2`, { auth: admin });
    assert.deepEqual(
      byId.body.map((k: any) => k.name),
      ['release-rsa', 'notation-root'],
    );
    assert.equal(await auditCount(), 5);
  });

  test('bad bodies are refused with 400 and nothing is stored', async () => {
    const before = await keyRows();
    const audits = await auditCount();
    const privatePem = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
      .privateKey.export({ format: 'pem', type: 'pkcs8' })
      .toString();
    const leaf = await certificate('not a ca', false);
    const weakRsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'pem', type: 'spki' }).toString();
    const good = cosignKeyPair().publicPem;
    const cases: Array<[unknown, RegExp]> = [
      [{ type: 'cosign', pem: good }, /name is required/],
      [{ name: '  ', type: 'cosign', pem: good }, /name is required/],
      [{ name: 'x', type: 'pgp', pem: good }, /type must be one of cosign, notation-ca, sigstore-root/],
      [{ name: 'x', pem: good }, /type must be one of/],
      [{ name: 'x', type: 'cosign' }, /pem is required/],
      [{ name: 'x', type: 'cosign', pem: good, extra: 1 }, /unknown field "extra"/],
      [{ name: 'x', type: 'cosign', pem: privatePem }, /private key/],
      [{ name: 'x', type: 'cosign', pem: 'not a key' }, /one PEM block "-----BEGIN PUBLIC KEY-----"/],
      [{ name: 'x', type: 'cosign', pem: '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n' }, /not a public key/],
      [{ name: 'x', type: 'cosign', pem: weakRsa }, /at least 2048 bits/],
      [{ name: 'x', type: 'cosign', pem: leaf.pem }, /one PEM block "-----BEGIN PUBLIC KEY-----"/],
      [{ name: 'x', type: 'notation-ca', pem: good }, /is "PUBLIC KEY", not a CERTIFICATE/],
      [{ name: 'x', type: 'notation-ca', pem: leaf.pem }, /is not a CA certificate/],
      [{ name: 'x', type: 'notation-ca', pem: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n' }, /does not parse/],
      [{ name: 'x', type: 'sigstore-root', pem: '{not json' }, /must be a trusted_root\.json document/],
      [{ name: 'x', type: 'sigstore-root', pem: '{"mediaType":"application/json"}' }, /needs mediaType/],
      [
        { name: 'x', type: 'sigstore-root', pem: '{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}' },
        /names no certificate authority/,
      ],
      [
        {
          name: 'x',
          type: 'sigstore-root',
          pem: JSON.stringify({
            mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
            tlogs: [{ baseUrl: 'https://r', publicKey: { rawBytes: 'AAAA' }, logId: { keyId: 'x' } }],
          }),
        },
        /public key of log 1 \(https:\/\/r\) does not parse/,
      ],
    ];
    for (const [body, message] of cases) {
      const res = await api(server, 'POST', base, { auth: admin, body });
      assertError(res, 400, 'BAD_REQUEST', JSON.stringify(body).slice(0, 80));
      assert.match(res.body.errors[0].message, message);
    }
    const raw = await api(server, 'POST', base, { auth: admin, rawBody: '[1]' });
    assertError(raw, 400, 'BAD_REQUEST');
    assert.deepEqual(await keyRows(), before);
    assert.equal(await auditCount(), audits);
  });

  test('a name or key already in the project is 409; another project may hold the same key', async () => {
    const before = await keyRows();
    const existing = before[0];
    let res = await api(server, 'POST', base, {
      auth: admin,
      body: { name: existing.name, type: 'cosign', pem: cosignKeyPair().publicPem },
    });
    assertError(res, 409, 'CONFLICT');
    assert.match(res.body.errors[0].message, /already has a trusted key named "release-ecdsa"/);
    res = await api(server, 'POST', base, { auth: admin, body: { name: 'same key again', type: 'cosign', pem: existing.pem } });
    assertError(res, 409, 'CONFLICT');
    assert.match(res.body.errors[0].message, new RegExp(`already trusts this cosign key \\(fingerprint ${existing.fingerprint}\\)`));
    assert.deepEqual(await keyRows(), before);
    await createProject(server, { project_name: 'keys-other' });
    res = await api(server, 'POST', '/projects/keys-other/trust/keys', {
      auth: admin,
      body: { name: existing.name, type: 'cosign', pem: existing.pem },
    });
    assert.equal(res.status, 201);
  });

  test('members read, only the project administrator changes; others are refused and nothing changes', async () => {
    for (const auth of [developer, guest]) {
      const res = await api(server, 'GET', base, { auth });
      assert.equal(res.status, 200);
      assert.equal(res.body.length, 5);
    }
    const before = await keyRows();
    const body = { name: 'sneaky', type: 'cosign', pem: cosignKeyPair().publicPem };
    for (const auth of [developer, guest, outsider]) {
      assertError(await api(server, 'POST', base, { auth, body }), 403, 'FORBIDDEN');
      assertError(await api(server, 'DELETE', `${base}/${before[0].id}`, { auth }), 403, 'FORBIDDEN');
    }
    assertError(await api(server, 'GET', base, { auth: outsider }), 403, 'FORBIDDEN');
    assertError(await api(server, 'GET', base), 401, 'UNAUTHORIZED');
    assertError(await api(server, 'POST', base, { body }), 401, 'UNAUTHORIZED');
    assert.deepEqual(await keyRows(), before);
  });

  test('unknown projects and keys are 404, bad ids 400; a delete removes the key and is audited', async () => {
    const body = { name: 'k', type: 'cosign', pem: cosignKeyPair().publicPem };
    assertError(await api(server, 'GET', '/projects/nope/trust/keys', { auth: admin }), 404, 'NOT_FOUND');
    assertError(await api(server, 'POST', '/projects/nope/trust/keys', { auth: admin, body }), 404, 'NOT_FOUND');
    assertError(await api(server, 'GET', `${base}/999999`, { auth: admin }), 404, 'NOT_FOUND');
    assertError(await api(server, 'DELETE', `${base}/999999`, { auth: admin }), 404, 'NOT_FOUND');
    assertError(await api(server, 'DELETE', `${base}/abc`, { auth: admin }), 400, 'BAD_REQUEST');
    // A key of another project is not this project's.
    const other = (await api(server, 'GET', '/projects/keys-other/trust/keys', { auth: admin })).body[0];
    assertError(await api(server, 'DELETE', `${base}/${other.id}`, { auth: admin }), 404, 'NOT_FOUND');
    const audits = await auditCount();
    const id = (await keyRows())[1].id;
    const res = await api(server, 'DELETE', `${base}/${id}`, { auth: admin });
    assert.equal(res.status, 200);
    assertError(await api(server, 'GET', `${base}/${id}`, { auth: admin }), 404, 'NOT_FOUND');
    assert.equal(await auditCount(), audits + 1);
    const audit = await server.berth.database.db
      .selectFrom('audit_logs')
      .selectAll()
      .where('resource_type', '=', 'trust_key')
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();
    assert.equal(audit.operation, 'delete');
    assert.equal(audit.resource, 'keys/trust/keys/release-ed25519');
    assert.equal(audit.username, 'admin');
  });

  test('deleting the project deletes its keys', async () => {
    const res = await api(server, 'DELETE', '/projects/keys-other', { auth: admin });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const rows = await server.berth.database.db.selectFrom('trust_keys').select('project_id').execute();
    assert.ok(rows.every((r) => Number(r.project_id) === projectId));
  });
});
