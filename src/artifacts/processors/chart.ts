import { parse as parseYaml } from 'yaml';
import { icons } from '../icons.js';
import { jsonAddition, type Addition, type ArtifactContent, type Json, type Processor } from './processor.js';

export const helmConfigType = 'application/vnd.cncf.helm.config.v1+json';
const chartLayerTypes = new Set(['application/vnd.cncf.helm.chart.content.v1.tar.gz', 'application/tar+gzip']);
const maxChartBytes = 16 << 20;

/** The archive reader (and its tar library) is loaded by the first chart that needs a file from its archive. */
async function chartFiles(archive: Buffer, wanted: readonly string[]): Promise<Map<string, string>> {
  return (await import('./chart-archive.js')).chartFiles(archive, wanted);
}

async function chartArchive(content: ArtifactContent): Promise<Buffer | null> {
  const layer = content.manifest.layers.find((l) => chartLayerTypes.has(l.mediaType));
  return layer ? content.blob(layer.digest, maxChartBytes) : null;
}

interface Dependency {
  name: string;
  version: string;
  repository: string;
}

function dependenciesOf(list: unknown): Dependency[] {
  if (!Array.isArray(list)) return [];
  return list
    .filter((d): d is Json => typeof d === 'object' && d !== null)
    .map((d) => ({ name: String(d.name ?? ''), version: String(d.version ?? ''), repository: String(d.repository ?? '') }));
}

async function dependencies(content: ArtifactContent): Promise<Addition> {
  const config = await content.config();
  if (Array.isArray(config?.dependencies)) return jsonAddition(dependenciesOf(config.dependencies));
  // apiVersion v1 charts list them in requirements.yaml instead.
  const archive = await chartArchive(content);
  const requirements = archive ? (await chartFiles(archive, ['requirements.yaml'])).get('requirements.yaml') : undefined;
  let parsed: unknown = null;
  try {
    parsed = requirements ? parseYaml(requirements) : null;
  } catch {
    parsed = null;
  }
  return jsonAddition(dependenciesOf((parsed as Json | null)?.dependencies));
}

/** Helm charts stored as OCI artifacts (`helm push oci://…`). */
export const chartProcessor: Processor = {
  type: 'CHART',
  icon: icons.chart,
  additions: ['values.yaml', 'readme.md', 'dependencies'],
  owns: (m) => m.kind === 'image' && m.config!.mediaType === helmConfigType,
  async extraAttrs(content) {
    // The config is the chart's Chart.yaml as JSON: name, version, appVersion, description, …
    return (await content.config()) ?? {};
  },
  async addition(name, content) {
    if (name === 'dependencies') return dependencies(content);
    const file = name === 'values.yaml' ? 'values.yaml' : name === 'readme.md' ? 'readme.md' : null;
    if (!file) return null;
    const archive = await chartArchive(content);
    const text = archive ? ((await chartFiles(archive, [file])).get(file) ?? '') : '';
    return { contentType: file === 'values.yaml' ? 'text/plain; charset=utf-8' : 'text/markdown; charset=utf-8', body: text };
  },
};
