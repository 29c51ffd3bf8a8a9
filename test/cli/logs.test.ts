import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { startChildBerth } from '../helpers/child-berth.js';
import { startOtlpReceiver } from '../helpers/otlp-receiver.js';

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The JSON lines of the output; any other line fails the test. */
function jsonLines(output: string[]): Array<Record<string, unknown>> {
  return output
    .join('')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        assert.fail(`not a JSON line: ${line}`);
      }
    });
}

test('log.format pretty prints readable lines: the serving line and one access line per request', async () => {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'berth-logs-'));
  const berth = await startChildBerth(dataDir, { log: { level: 'info', access: true, format: 'pretty' } });
  try {
    assert.equal((await fetch(`${berth.url}/v2/`, { headers: { 'x-request-id': 'pretty-1' } })).status, 401);
  } finally {
    await berth.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
  const text = berth.output.join('');
  assert.match(text, /^\d\d:\d\d:\d\d INFO: berth is serving at http:\/\/127\.0\.0\.1:\d+ \(data .+\) version=\S+$/m);
  assert.match(text, /^\d\d:\d\d:\d\d INFO: GET \/v2\/ 401 \d+ms anonymous reqId=pretty-1$/m);
  assert.doesNotMatch(text, /^\{/m, 'no JSON line');
});

test('log.format auto on a pipe writes JSON; the request id (the caller’s X-Request-ID when sound) is in the header and the log line; tracing from the OTEL_* variables adds trace_id', async () => {
  const receiver = await startOtlpReceiver();
  const dataDir = await mkdtemp(path.join(tmpdir(), 'berth-logs-'));
  const berth = await startChildBerth(dataDir, { log: { level: 'info', access: true } }, 'berth', {
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_SERVICE_NAME: 'berth-child',
  });
  let kept: string | null;
  let generated: string | null;
  try {
    const given = await fetch(`${berth.url}/api/v2.0/projects?page=1`, { headers: { 'x-request-id': 'client-chosen.id_42' } });
    assert.equal(given.status, 200);
    kept = given.headers.get('x-request-id');
    assert.equal(kept, 'client-chosen.id_42');
    const tooLong = await fetch(`${berth.url}/api/v2.0/nothing-here`, { headers: { 'x-request-id': 'x'.repeat(200) } });
    assert.equal(tooLong.status, 404);
    generated = tooLong.headers.get('x-request-id');
    assert.match(generated ?? '', uuid);
  } finally {
    await berth.stop();
    await rm(dataDir, { recursive: true, force: true });
    await receiver.close();
  }
  const lines = jsonLines(berth.output);
  assert.ok(lines.some((l) => String(l.msg).startsWith('berth is serving at ') && typeof l.address === 'string'));
  const access = lines.filter((l) => l.msg === 'request');
  const first = access.find((l) => l.reqId === kept);
  assert.ok(first, `an access line with the caller's id among ${JSON.stringify(access)}`);
  assert.equal(first.status, 200);
  assert.ok(access.some((l) => l.reqId === generated && l.status === 404));
  // The access line's trace_id is the trace of the exported request span.
  assert.match(String(first.trace_id), /^[0-9a-f]{32}$/);
  const span = receiver.spans.find((s) => s.traceId === first.trace_id && s.kind === 2);
  assert.ok(span, 'the request span was exported');
  assert.equal(span.service, 'berth-child');
  assert.equal(span.name, 'GET /api/v2.0/projects');
  assert.deepEqual(span.attributes['http.request.header.x-request-id'], ['client-chosen.id_42']);
});

test('OTEL_SDK_DISABLED=true: nothing is exported and the access line has no trace_id', async () => {
  const receiver = await startOtlpReceiver();
  const dataDir = await mkdtemp(path.join(tmpdir(), 'berth-logs-'));
  const berth = await startChildBerth(dataDir, { log: { level: 'info', access: true } }, 'berth', {
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_SDK_DISABLED: 'true',
  });
  try {
    assert.equal((await fetch(`${berth.url}/api/v2.0/ping`)).status, 200);
  } finally {
    await berth.stop();
    await rm(dataDir, { recursive: true, force: true });
    await receiver.close();
  }
  assert.equal(receiver.requests, 0);
  const access = jsonLines(berth.output).filter((l) => l.msg === 'request');
  assert.ok(access.length > 0);
  assert.ok(access.every((l) => l.trace_id === undefined));
});
