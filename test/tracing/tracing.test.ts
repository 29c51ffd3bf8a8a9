import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { otlpProtocols, tracingSettingsFromEnv, type OtlpProtocol, type TracingSettings } from '../../src/tracing/settings.js';
import { startChildBerth } from '../helpers/child-berth.js';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../helpers/otlp-receiver.js';
import { pushImage, types } from '../helpers/oci.js';
import { writeTestPki } from '../helpers/self-signed.js';
import { startServer } from '../helpers/server.js';

const serverKind = 2;

/** The receiver's endpoint for the protocol, as OTEL_EXPORTER_OTLP_TRACES_ENDPOINT would give it. */
function settings(receiver: OtlpReceiver, protocol: OtlpProtocol): TracingSettings {
  return {
    protocol,
    endpoint: protocol === 'grpc' ? receiver.grpcUrl : `${receiver.url}/v1/traces`,
    headers: { 'x-berth-test': `sent over ${protocol}` },
    serviceName: 'berth-under-test',
    resourceAttributes: { 'deployment.environment.name': 'test' },
    sampler: { kind: 'parentbased_always_on' },
  };
}

/** The manifest PUT's server span as each protocol delivered it, compared after the three runs. */
const putSpans = new Map<OtlpProtocol, ReceivedSpan>();

function childrenOf(spans: ReceivedSpan[], parent: ReceivedSpan): ReceivedSpan[] {
  return spans.filter((s) => s.traceId === parent.traceId && s.parentSpanId === parent.spanId);
}

for (const protocol of otlpProtocols) {
  test(`a traced server exports over ${protocol} a span tree per request: the HTTP span, its database and blob store spans; a caller’s traceparent is continued`, async () => {
    const receiver = await startOtlpReceiver();
    const server = await startServer({ seams: { tracing: settings(receiver, protocol) } });
    let stopped = false;
    try {
      const image = await pushImage(server.url, 'library/traced', 'v1', { headers: server.admin });
      const traceId = randomBytes(16).toString('hex');
      const parentId = randomBytes(8).toString('hex');
      const head = await fetch(`${server.url}/v2/library/traced/manifests/v1`, {
        method: 'HEAD',
        headers: { ...server.admin, accept: types.manifest, traceparent: `00-${traceId}-${parentId}-01` },
      });
      assert.equal(head.status, 200);
      assert.equal(head.headers.get('docker-content-digest'), image.digest);
      const missing = await fetch(`${server.url}/v2/library/traced/manifests/nope`, { headers: server.admin });
      assert.equal(missing.status, 404);
      // Closing the server sends what is still buffered.
      await server.stop();
      stopped = true;

      // Every export came over the chosen protocol, with the configured headers (gRPC: metadata).
      assert.ok(receiver.exports.length > 0, 'spans were exported');
      assert.equal(receiver.requests, receiver.exports.length, 'every export request was read');
      assert.deepEqual(new Set(receiver.exports.map((e) => e.protocol)), new Set([protocol]));
      assert.ok(receiver.exports.every((e) => e.headers['x-berth-test'] === `sent over ${protocol}`));
      const spans = receiver.spans;
      assert.ok(spans.length > 0, 'spans were exported');
      assert.ok(spans.every((s) => s.service === 'berth-under-test'));
      const servers = spans.filter((s) => s.kind === serverKind);

      // The manifest PUT: named by its route pattern, with the HTTP attributes and its children.
      const put = servers.find(
        (s) => s.attributes['http.request.method'] === 'PUT' && String(s.attributes['url.path']).includes('/manifests/'),
      );
      assert.ok(put, `a server span for the manifest PUT among ${servers.map((s) => s.name).join(', ')}`);
      assert.equal(put.name, 'PUT /v2/:name/manifests/:reference');
      assert.equal(put.attributes['http.route'], put.name.slice(4));
      assert.equal(put.attributes['http.response.status_code'], 201);
      assert.equal(put.attributes['url.path'], '/v2/library/traced/manifests/v1');
      assert.equal(put.parentSpanId, '', 'a request without traceparent starts a trace');
      assert.match(put.traceId, /^[0-9a-f]{32}$/);
      assert.match(put.spanId, /^[0-9a-f]{16}$/);
      // An integer and an array attribute, whatever the encoding.
      assert.equal(put.attributes['server.port'], Number(new URL(server.url).port));
      assert.ok(Array.isArray(put.attributes['http.request.header.x-request-id']));
      putSpans.set(protocol, put);
      const putChildren = childrenOf(spans, put);
      const dbSpans = putChildren.filter((s) => s.attributes['db.system'] !== undefined);
      assert.ok(dbSpans.length > 0, `database spans under the PUT: ${putChildren.map((s) => s.name).join(', ')}`);
      const system = server.databaseUrl ? 'postgresql' : 'sqlite';
      for (const s of dbSpans) {
        assert.equal(s.attributes['db.system'], system);
        assert.equal(s.attributes['db.system.name'], system);
        assert.match(String(s.attributes['db.operation.name']), /^[A-Z]+$/);
        // The statement's kind and table only: no text, no values.
        assert.equal(s.attributes['db.query.text'], undefined);
        assert.equal(s.attributes['db.statement'], undefined);
        assert.ok(!JSON.stringify(s.attributes).includes(image.digest), 'no parameter value in a database span');
      }
      assert.ok(
        dbSpans.some((s) => s.attributes['db.operation.name'] === 'INSERT'),
        `an INSERT among ${dbSpans.map((s) => s.name).join(', ')}`,
      );

      // A blob upload: its blob store spans are children of its server span.
      const post = servers.find(
        (s) =>
          s.attributes['http.request.method'] === 'POST' &&
          s.attributes['http.response.status_code'] === 201 &&
          s.name === 'POST /v2/:name/blobs/uploads/',
      );
      assert.ok(post, 'a server span for a monolithic blob upload');
      const blobSpans = childrenOf(spans, post).filter((s) => s.name.startsWith('blobstore.'));
      const operations = blobSpans.map((s) => s.attributes['berth.blobstore.operation']);
      for (const op of ['append_upload', 'publish_upload']) assert.ok(operations.includes(op), `${op} among ${operations.join(', ')}`);
      assert.ok(blobSpans.every((s) => s.attributes['berth.blobstore.driver'] === 'filesystem'));

      // The HEAD with a traceparent continues the caller's trace.
      const continued = servers.find((s) => s.attributes['http.request.method'] === 'HEAD');
      assert.ok(continued);
      assert.equal(continued.traceId, traceId);
      assert.equal(continued.parentSpanId, parentId);
      assert.equal(continued.attributes['http.response.status_code'], 200);

      // A 404 is the client's: not an error on the server span.
      const notFound = servers.find((s) => s.attributes['http.response.status_code'] === 404);
      assert.ok(notFound);
      assert.notEqual(notFound.status.code, 2);
    } finally {
      if (!stopped) await server.stop();
      await receiver.close();
    }
  });
}

test('http/protobuf, http/json and grpc carry the same span: name, kind, status and attributes', () => {
  assert.deepEqual([...putSpans.keys()].sort(), [...otlpProtocols].sort(), 'each protocol’s run exported the PUT');
  // What differs from one server to the next: its port, the request's id, the ids of the trace.
  const comparable = (s: ReceivedSpan) => {
    const { 'server.port': _port, 'http.request.header.x-request-id': _id, ...attributes } = s.attributes;
    return { name: s.name, kind: s.kind, status: s.status.code ?? 0, service: s.service, attributes };
  };
  const json = comparable(putSpans.get('http/json')!);
  assert.deepEqual(comparable(putSpans.get('http/protobuf')!), json);
  assert.deepEqual(comparable(putSpans.get('grpc')!), json);
});

test('an untraced server exports nothing and makes no span', async () => {
  const receiver = await startOtlpReceiver();
  // The variables name the receiver, but tracing is not given to this server.
  const server = await startServer();
  try {
    await pushImage(server.url, 'library/untraced', 'v1', { headers: server.admin });
  } finally {
    await server.stop();
  }
  await receiver.close();
  assert.equal(receiver.requests, 0);
});

test('the OTEL_* variables: on with an endpoint or OTEL_TRACES_EXPORTER=otlp, off by default, with OTEL_SDK_DISABLED or exporter none', () => {
  assert.equal(tracingSettingsFromEnv({}).settings, null);
  assert.equal(tracingSettingsFromEnv({ OTEL_SERVICE_NAME: 'x' }).settings, null);
  const on = tracingSettingsFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }).settings;
  assert.equal(on?.endpoint, 'http://collector:4318/v1/traces');
  assert.equal(on?.protocol, 'http/protobuf', 'the specification’s default protocol');
  assert.equal(on?.serviceName, 'berth');
  assert.deepEqual(on?.sampler, { kind: 'parentbased_always_on' });
  assert.equal(tracingSettingsFromEnv({ OTEL_TRACES_EXPORTER: 'otlp' }).settings?.endpoint, 'http://localhost:4318/v1/traces');
  const own = tracingSettingsFromEnv({
    OTEL_EXPORTER_OTLP_ENDPOINT: 'http://ignored:4318',
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://collector.example/traces',
    OTEL_SERVICE_NAME: 'registry-eu',
    OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
    OTEL_TRACES_SAMPLER_ARG: '0.25',
    OTEL_EXPORTER_OTLP_HEADERS: 'x-token=a%20b,bad',
    OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=prod',
  });
  assert.equal(own.settings?.endpoint, 'https://collector.example/traces');
  assert.equal(own.settings?.serviceName, 'registry-eu');
  assert.deepEqual(own.settings?.sampler, { kind: 'parentbased_traceidratio', ratio: 0.25 });
  assert.deepEqual(own.settings?.headers, { 'x-token': 'a b' });
  assert.deepEqual(own.settings?.resourceAttributes, { 'deployment.environment.name': 'prod' });
  assert.equal(own.warnings.length, 1, 'the header without = is reported');
  assert.equal(tracingSettingsFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_SDK_DISABLED: 'true' }).settings, null);
  assert.equal(tracingSettingsFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_EXPORTER: 'none' }).settings, null);
  const badRatio = tracingSettingsFromEnv({
    OTEL_TRACES_EXPORTER: 'otlp',
    OTEL_TRACES_SAMPLER: 'traceidratio',
    OTEL_TRACES_SAMPLER_ARG: '2',
  });
  assert.deepEqual(badRatio.settings?.sampler, { kind: 'traceidratio', ratio: 1 });
  assert.equal(badRatio.warnings.length, 1);
});

test('OTEL_EXPORTER_OTLP_PROTOCOL and …_TRACES_PROTOCOL: http/protobuf by default, http/json, grpc; an unknown value warns and falls back to http/protobuf', () => {
  const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' };
  const none = tracingSettingsFromEnv(endpoint);
  assert.equal(none.settings?.protocol, 'http/protobuf');
  assert.deepEqual(none.warnings, []);
  for (const protocol of otlpProtocols) {
    const general = tracingSettingsFromEnv({ ...endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: protocol });
    assert.equal(general.settings?.protocol, protocol);
    assert.deepEqual(general.warnings, []);
    const own = tracingSettingsFromEnv({ ...endpoint, OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: ` ${protocol} ` });
    assert.equal(own.settings?.protocol, protocol);
  }
  // The signal's own variable wins; a blank one does not count.
  const both = { ...endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json' };
  assert.equal(tracingSettingsFromEnv(both).settings?.protocol, 'http/json');
  assert.equal(tracingSettingsFromEnv({ ...both, OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: ' ' }).settings?.protocol, 'grpc');
  // An unknown value: a warning naming the variable, the value and the fallback.
  const unknown = tracingSettingsFromEnv({ ...endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/xml' });
  assert.equal(unknown.settings?.protocol, 'http/protobuf');
  assert.equal(unknown.warnings.length, 1);
  assert.match(unknown.warnings[0], /^OTEL_EXPORTER_OTLP_PROTOCOL: "http\/xml" is not supported .*; http\/protobuf is used$/);
  const unknownOwn = tracingSettingsFromEnv({ ...endpoint, OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'thrift' });
  assert.equal(unknownOwn.settings?.protocol, 'http/protobuf');
  assert.match(unknownOwn.warnings.join('\n'), /^OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "thrift" .* http\/protobuf is used$/);
});

test('the endpoint by protocol: http appends /v1/traces to the base URL only, grpc uses either variable as given; defaults :4318/v1/traces and :4317', () => {
  const endpointOf = (env: NodeJS.ProcessEnv) => tracingSettingsFromEnv(env).settings?.endpoint;
  for (const protocol of ['http/protobuf', 'http/json']) {
    const p = { OTEL_EXPORTER_OTLP_PROTOCOL: protocol };
    assert.equal(endpointOf({ ...p, OTEL_TRACES_EXPORTER: 'otlp' }), 'http://localhost:4318/v1/traces');
    assert.equal(endpointOf({ ...p, OTEL_EXPORTER_OTLP_ENDPOINT: 'https://c.example:4318' }), 'https://c.example:4318/v1/traces');
    // A base URL with a path keeps it: …/mycollector/v1/traces.
    assert.equal(endpointOf({ ...p, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318/mycollector/' }), 'http://c:4318/mycollector/v1/traces');
    // The signal's own endpoint is used as given, and wins.
    const own = { ...p, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://ignored:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c:9999/custom' };
    assert.equal(endpointOf(own), 'http://c:9999/custom');
    const bad = tracingSettingsFromEnv({ ...p, OTEL_EXPORTER_OTLP_ENDPOINT: 'c:4318' });
    assert.equal(bad.settings, null);
    assert.match(bad.warnings.join('\n'), /not an http\(s\) URL; tracing is off/);
  }
  const g = { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' };
  assert.equal(endpointOf({ ...g, OTEL_TRACES_EXPORTER: 'otlp' }), 'http://localhost:4317');
  // No /v1/traces for gRPC, from either variable; the signal's own wins.
  assert.equal(endpointOf({ ...g, OTEL_EXPORTER_OTLP_ENDPOINT: 'https://c.example:4317' }), 'https://c.example:4317');
  const own = { ...g, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://ignored:4317', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c:14317' };
  assert.equal(endpointOf(own), 'http://c:14317');
  // gRPC also takes a bare host:port (TLS unless OTEL_EXPORTER_OTLP_INSECURE=true, which the exporter reads).
  const bare = tracingSettingsFromEnv({ ...g, OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4317' });
  assert.equal(bare.settings?.endpoint, 'collector:4317');
  assert.deepEqual(bare.warnings, []);
  // A path means nothing to gRPC: said at startup.
  const withPath = tracingSettingsFromEnv({ ...g, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4317/v1/traces' });
  assert.equal(withPath.settings?.endpoint, 'http://c:4317/v1/traces');
  assert.match(withPath.warnings.join('\n'), /has a path; gRPC ignores it and sends to c:4317/);
  // Headers become gRPC metadata; one gRPC cannot carry is left out with a warning that does not show its value.
  const metadata = tracingSettingsFromEnv({
    ...g,
    OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4317',
    OTEL_EXPORTER_OTLP_HEADERS: 'X-Token=abc,x-name=s3cr%C3%A9t,x-trace-bin=AAEC',
  });
  assert.deepEqual(metadata.settings?.headers, { 'x-token': 'abc' });
  assert.equal(metadata.warnings.length, 2);
  assert.match(metadata.warnings.join('\n'), /"x-name" cannot be sent as gRPC metadata/);
  assert.match(metadata.warnings.join('\n'), /"x-trace-bin" cannot be sent as gRPC metadata/);
  assert.doesNotMatch(metadata.warnings.join('\n'), /s3cr/);
  const bad = tracingSettingsFromEnv({ ...g, OTEL_EXPORTER_OTLP_ENDPOINT: 'ftp://c:4317' });
  assert.equal(bad.settings, null);
  assert.match(bad.warnings.join('\n'), /tracing is off/);
});

/** A child `berth serve` traced by the given variables: its request span, and what came how. */
async function childTraced(env: Record<string, string>, receiver: OtlpReceiver) {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'berth-otlp-'));
  const berth = await startChildBerth(dataDir, { log: { level: 'info' } }, 'berth', {
    OTEL_SERVICE_NAME: 'berth-child',
    OTEL_EXPORTER_OTLP_HEADERS: 'x-collector-token=s3cr%2Ct',
    ...env,
  });
  try {
    assert.equal((await fetch(`${berth.url}/api/v2.0/systeminfo`)).status, 200);
  } finally {
    // Stopping sends what is still buffered.
    await berth.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
  const span = receiver.spans.find((s) => s.kind === serverKind && s.name === 'GET /api/v2.0/systeminfo');
  assert.ok(span, `the request span among ${receiver.spans.map((s) => s.name).join(', ')}`);
  assert.equal(span.service, 'berth-child');
  assert.equal(span.attributes['http.response.status_code'], 200);
  assert.ok(receiver.exports.every((e) => e.headers['x-collector-token'] === 's3cr,t'));
  return { output: berth.output.join(''), protocols: new Set(receiver.exports.map((e) => e.protocol)) };
}

test('berth serve with only OTEL_EXPORTER_OTLP_TRACES_ENDPOINT sends http/protobuf, the default', async () => {
  const receiver = await startOtlpReceiver();
  try {
    const { output, protocols } = await childTraced({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${receiver.url}/v1/traces` }, receiver);
    assert.deepEqual(protocols, new Set(['http/protobuf']));
    assert.match(output, /traces are sent to http:\/\/127\.0\.0\.1:\d+\/v1\/traces \(OTLP http\/protobuf\)/);
  } finally {
    await receiver.close();
  }
});

test('berth serve with OTEL_EXPORTER_OTLP_PROTOCOL=grpc sends over gRPC to OTEL_EXPORTER_OTLP_ENDPOINT as given', async () => {
  const receiver = await startOtlpReceiver();
  try {
    const { output, protocols } = await childTraced(
      { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.grpcUrl, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' },
      receiver,
    );
    assert.deepEqual(protocols, new Set(['grpc']));
    assert.ok(output.includes(`traces are sent to ${receiver.grpcUrl} (OTLP grpc)`), output);
    assert.doesNotMatch(output, /not supported/);
  } finally {
    await receiver.close();
  }
});

test('berth serve exports over mutual TLS with the files OTEL_EXPORTER_OTLP_CERTIFICATE, _CLIENT_KEY and _CLIENT_CERTIFICATE name, over http/protobuf and gRPC; without its client certificate the receiver refuses it and nothing arrives, while Berth answers as usual', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'berth-otlp-pki-'));
  const pki = writeTestPki(dir);
  const receiver = await startOtlpReceiver({ tls: { ca: pki.ca, cert: pki.serverCert, key: pki.serverKey } });
  const forget = () => {
    receiver.spans.length = 0;
    receiver.exports.length = 0;
    receiver.requests = 0;
  };
  try {
    const files = {
      OTEL_EXPORTER_OTLP_CERTIFICATE: pki.ca,
      OTEL_EXPORTER_OTLP_CLIENT_KEY: pki.clientKey,
      OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE: pki.clientCert,
    };
    const overHttp = await childTraced({ ...files, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url }, receiver);
    assert.deepEqual(overHttp.protocols, new Set(['http/protobuf']));
    assert.equal(receiver.refusedHandshakes, 0);
    forget();
    const overGrpc = await childTraced(
      { ...files, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.grpcUrl, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' },
      receiver,
    );
    assert.deepEqual(overGrpc.protocols, new Set(['grpc']));
    forget();

    // The CA alone: Berth trusts the receiver, the receiver does not know Berth.
    const dataDir = await mkdtemp(path.join(tmpdir(), 'berth-otlp-'));
    const berth = await startChildBerth(dataDir, { log: { level: 'info' } }, 'berth', {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_CERTIFICATE: pki.ca,
    });
    try {
      assert.equal((await fetch(`${berth.url}/api/v2.0/systeminfo`)).status, 200);
    } finally {
      await berth.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
    assert.equal(receiver.exports.length, 0, 'no export got through');
    assert.ok(receiver.refusedHandshakes > 0, 'the receiver refused a handshake without a client certificate');
  } finally {
    await receiver.close();
    await rm(dir, { recursive: true, force: true });
  }
});
