import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { pushImage } from '../helpers/oci.js';
import { parseExposition, type Exposition } from '../helpers/prometheus.js';
import { startServer, type TestServer } from '../helpers/server.js';

const dashboardFile = fileURLToPath(new URL('../../docs/grafana/berth-dashboard.json', import.meta.url));

interface Panel {
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  targets?: Array<{ expr: string; refId: string }>;
  gridPos: { x: number; y: number; w: number; h: number };
}

/** The metric names a PromQL expression reads (the families Berth exports, and Node's). */
function metricNames(expr: string): string[] {
  return [...expr.matchAll(/\b((?:berth|harbor|process|nodejs)_[a-zA-Z0-9_]*)\b/g)].map((m) => m[1]!);
}

function exported(scrape: Exposition, name: string): boolean {
  if (scrape.types.has(name)) return true;
  const histogram = /^(.*)_(bucket|sum|count)$/.exec(name);
  return histogram !== null && ['histogram', 'summary'].includes(scrape.types.get(histogram[1]!) ?? '');
}

describe('the Grafana dashboard in docs/grafana', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ yaml: { 'metrics.enabled': true, 'metrics.public': true } });
  });
  after(() => server.stop());

  it('is a dashboard model with a Prometheus data source variable used by every panel', async () => {
    const dashboard = JSON.parse(await readFile(dashboardFile, 'utf8')) as {
      title: string;
      uid: string;
      schemaVersion: number;
      templating: { list: Array<{ name: string; type: string; query: unknown }> };
      panels: Panel[];
    };
    assert.equal(typeof dashboard.title, 'string');
    assert.equal(typeof dashboard.uid, 'string');
    assert.ok(dashboard.schemaVersion >= 30);
    const source = dashboard.templating.list.find((v) => v.type === 'datasource');
    assert.equal(source?.query, 'prometheus');
    const ids = new Set<number>();
    for (const panel of dashboard.panels as Array<Panel & { id: number }>) {
      assert.ok(!ids.has(panel.id), `panel id ${panel.id} repeated`);
      ids.add(panel.id);
      assert.ok(panel.gridPos.x + panel.gridPos.w <= 24, panel.title);
      if (panel.type === 'row') continue;
      assert.deepEqual(panel.datasource, { type: 'prometheus', uid: `\${${source!.name}}` }, panel.title);
      assert.ok((panel.targets ?? []).length > 0, `${panel.title} has no query`);
    }
  });

  it('queries only metrics a real Berth exports', async () => {
    await pushImage(server.url, 'library/dash', 'v1', { headers: server.admin });
    const res = await fetch(`${server.url}/metrics`);
    assert.equal(res.status, 200);
    const scrape = parseExposition(await res.text());
    const dashboard = JSON.parse(await readFile(dashboardFile, 'utf8')) as { panels: Panel[] };
    const queried = new Set<string>();
    for (const panel of dashboard.panels) for (const t of panel.targets ?? []) for (const name of metricNames(t.expr)) queried.add(name);
    assert.ok(queried.size >= 20, `only ${queried.size} metrics queried`);
    const missing = [...queried].filter((name) => !exported(scrape, name));
    assert.deepEqual(missing, [], `the dashboard queries metrics Berth does not export: ${missing.join(', ')}`);
  });
});
