import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { tracingSettingsFromEnv, type TracingSettings } from '../../src/tracing/settings.js';
import { startOtlpReceiver, type ReceivedSpan } from '../helpers/otlp-receiver.js';
import { pushImage, types } from '../helpers/oci.js';
import { startServer } from '../helpers/server.js';

const serverKind = 2;

function settings(endpoint: string): TracingSettings {
  return {
    endpoint: `${endpoint}/v1/traces`,
    headers: {},
    serviceName: 'berth-under-test',
    resourceAttributes: { 'deployment.environment.name': 'test' },
    sampler: { kind: 'parentbased_always_on' },
  };
}

function childrenOf(spans: ReceivedSpan[], parent: ReceivedSpan): ReceivedSpan[] {
  return spans.filter((s) => s.traceId === parent.traceId && s.parentSpanId === parent.spanId);
}

test('a traced server exports a span tree per request: the HTTP span, its database and blob store spans; a caller’s traceparent is continued', async () => {
  const receiver = await startOtlpReceiver();
  const server = await startServer({ seams: { tracing: settings(receiver.url) } });
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
  const protobuf = tracingSettingsFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' });
  assert.ok(protobuf.settings);
  assert.match(protobuf.warnings.join('\n'), /http\/json/);
  const badRatio = tracingSettingsFromEnv({
    OTEL_TRACES_EXPORTER: 'otlp',
    OTEL_TRACES_SAMPLER: 'traceidratio',
    OTEL_TRACES_SAMPLER_ARG: '2',
  });
  assert.deepEqual(badRatio.settings?.sampler, { kind: 'traceidratio', ratio: 1 });
  assert.equal(badRatio.warnings.length, 1);
});
