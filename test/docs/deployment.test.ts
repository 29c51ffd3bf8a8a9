import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { loadConfig, resolvePaths } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { startServer } from '../helpers/server.js';

// docs/DEPLOYMENT.md promises that its YAML parses, that every Berth configuration in it
// loads, and that its Kubernetes manifests agree with each other, with the Dockerfile and
// with Berth's configuration schema. This file keeps that promise.

const root = fileURLToPath(new URL('../../', import.meta.url));
const markdown = readFileSync(path.join(root, 'docs/DEPLOYMENT.md'), 'utf8');

/** The bodies of the fenced code blocks of one language, in order. */
function codeBlocks(language: string): string[] {
  const out: string[] = [];
  for (const m of markdown.matchAll(/^```([\w-]*)\n([\s\S]*?)^```$/gm)) {
    if (m[1] === language) out.push(m[2]);
  }
  return out;
}

type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
  [key: string]: any;
};

/** Every YAML block, parsed: Kubernetes objects (with apiVersion and kind), Berth configurations and Prometheus's scrape configuration. */
function parsedYaml(): { objects: K8sObject[]; configs: string[] } {
  const objects: K8sObject[] = [];
  const configs: string[] = [];
  for (const [i, block] of codeBlocks('yaml').entries()) {
    const documents = parseAllDocuments(block, { prettyErrors: true });
    assert.ok(Array.isArray(documents), `yaml block ${i + 1} holds no document`);
    const values = documents.map((d) => {
      assert.deepEqual(d.errors, [], `yaml block ${i + 1} does not parse:\n${d.errors.join('\n')}`);
      assert.deepEqual(d.warnings, [], `yaml block ${i + 1} has warnings:\n${d.warnings.join('\n')}`);
      return d.toJS() as Record<string, unknown>;
    });
    const isKubernetes = values.map((v) => typeof v?.apiVersion === 'string' && typeof v?.kind === 'string');
    if (isKubernetes.every(Boolean)) {
      objects.push(...(values as K8sObject[]));
    } else if (values.length === 1 && values[0] && 'scrape_configs' in values[0]) {
      // Prometheus's configuration (monitoring): parsed above, not Berth's to load.
    } else {
      assert.ok(!isKubernetes.some(Boolean), `yaml block ${i + 1} mixes Kubernetes objects with something else`);
      assert.equal(values.length, 1, `yaml block ${i + 1}: a Berth configuration is one document`);
      configs.push(block);
    }
  }
  return { objects, configs };
}

const { objects, configs } = parsedYaml();

function only(kind: string): K8sObject {
  const found = objects.filter((o) => o.kind === kind);
  assert.equal(found.length, 1, `expected exactly one ${kind} in docs/DEPLOYMENT.md, found ${found.length}`);
  return found[0];
}

let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'berth-deployment-doc-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

let written = 0;
async function load(yamlText: string, env: NodeJS.ProcessEnv = {}): Promise<Config> {
  const file = path.join(dir, `berth-${++written}.yaml`);
  await writeFile(file, yamlText);
  return loadConfig({ file, env });
}

/** The outcome of loading a configuration: the config as JSON, or the error's message. */
function outcome(env: NodeJS.ProcessEnv): string {
  try {
    return JSON.stringify(loadConfig({ file: undefined, env }));
  } catch (err) {
    return `error: ${(err as Error).message}`;
  }
}

/** Whether Berth's loader reads the variable: some value of it changes what loading gives. */
function readByBerth(name: string): boolean {
  const baseline = outcome({});
  return ['true', '7', 'https://x.example.com', 's3', 'debug', 'adminonly'].some((value) => outcome({ [name]: value }) !== baseline);
}

test('every YAML block parses, and the page has the Kubernetes objects it promises', () => {
  assert.ok(configs.length >= 5, `expected the Berth configurations of the page, found ${configs.length}`);
  const kinds = objects.map((o) => o.kind).sort();
  for (const kind of ['ConfigMap', 'Deployment', 'Ingress', 'Namespace', 'Secret', 'Service'])
    assert.ok(kinds.includes(kind), `no ${kind}`);
  for (const o of objects) {
    assert.equal(typeof o.metadata?.name, 'string', `${o.kind} has no name`);
  }
});

test('every Berth configuration on the page loads through the configuration loader', async () => {
  for (const [i, text] of configs.entries()) {
    await assert.doesNotReject(load(text), `Berth configuration ${i + 1} of docs/DEPLOYMENT.md does not load`);
  }
  // The complete example is the scaled-out shape.
  const full = await load(configs[0]);
  assert.equal(full.storage.driver, 's3');
  assert.ok(resolvePaths(full).postgresUrl, 'the complete example uses PostgreSQL');
});

test('every BERTH_ variable the page names is one Berth reads', async () => {
  const names = new Set([...markdown.matchAll(/\bBERTH_[A-Z0-9_]+\b/g)].map((m) => m[0]));
  assert.ok(names.size > 10);
  for (const name of names) {
    if (name === 'BERTH_CONFIG') continue;
    assert.ok(readByBerth(name), `${name} is named in docs/DEPLOYMENT.md but Berth's configuration loader ignores it`);
  }
  const file = path.join(dir, 'via-env.yaml');
  await writeFile(file, 'server:\n  port: 7001\n');
  assert.equal(loadConfig({ env: { BERTH_CONFIG: file } }).server.port, 7001);
});

test("the Deployment's configuration loads: ConfigMap berth.yaml plus the environment from the Secret", async () => {
  const secret = only('Secret');
  const configMap = only('ConfigMap');
  const deployment = only('Deployment');
  const pod = deployment.spec.template.spec;
  const container = pod.containers[0];

  const env: Record<string, string> = {};
  for (const variable of container.env ?? []) {
    if (variable.value !== undefined) {
      env[variable.name] = String(variable.value);
      continue;
    }
    const ref = variable.valueFrom?.secretKeyRef;
    assert.ok(ref, `${variable.name} has neither a value nor a secretKeyRef`);
    assert.equal(ref.name, secret.metadata.name, `${variable.name} refers to a Secret the page does not define`);
    const value = secret.stringData?.[ref.key];
    assert.equal(typeof value, 'string', `${variable.name}: the Secret has no key ${ref.key}`);
    env[variable.name] = value;
  }
  for (const name of Object.keys(env)) {
    assert.ok(name.startsWith('BERTH_') || name.startsWith('AWS_'), `${name} is not a variable Berth or the AWS SDK reads`);
    if (name.startsWith('BERTH_')) assert.ok(readByBerth(name), `${name} is set by the Deployment but Berth ignores it`);
  }

  const configText = configMap.data?.['berth.yaml'];
  assert.equal(typeof configText, 'string', 'the ConfigMap has no berth.yaml');
  const config = await load(configText, env);
  assert.equal(config.storage.driver, 's3');
  assert.ok(config.storage.s3.bucket);
  assert.equal(config.storage.s3.access_key, secret.stringData['s3-access-key']);
  assert.equal(config.storage.s3.secret_key, secret.stringData['s3-secret-key']);
  assert.equal(config.auth.admin_password, secret.stringData['admin-password']);
  assert.ok(resolvePaths(config).postgresUrl, 'the Deployment runs on PostgreSQL');
  assert.ok(config.server.external_url?.startsWith('https://'), 'TLS ends in front of Berth: external_url is https');

  // The file Berth reads is the ConfigMap, mounted where the image's CMD looks for it.
  const configVolume = pod.volumes.find((v: any) => v.configMap?.name === configMap.metadata.name);
  assert.ok(configVolume, 'no volume holds the ConfigMap');
  const mount = container.volumeMounts.find((m: any) => m.name === configVolume.name);
  assert.ok(mount, 'the ConfigMap volume is not mounted');
  const [dockerfile] = codeBlocks('dockerfile');
  const cmd = JSON.parse(/^CMD (.+)$/m.exec(dockerfile)![1]) as string[];
  assert.equal(cmd[cmd.indexOf('--config') + 1], path.posix.join(mount.mountPath, 'berth.yaml'));
  assert.equal(container.command, undefined, 'the container keeps the image CMD');
  assert.equal(container.args, undefined, 'the container keeps the image CMD');

  // Ports and probes point at what Berth serves.
  const port = container.ports.find((p: any) => p.name === 'http');
  assert.equal(port.containerPort, config.server.port);
  for (const probe of [container.startupProbe, container.livenessProbe]) {
    assert.deepEqual(probe.httpGet, { path: '/api/v2.0/ping', port: 'http' });
  }
  const readiness = container.readinessProbe.exec.command.join(' ');
  assert.ok(readiness.includes(`127.0.0.1:${config.server.port}/api/v2.0/health`));

  // Shutdown: Kubernetes waits longer than the preStop sleep plus Berth's own grace.
  const preStop = container.lifecycle.preStop.exec.command;
  assert.equal(preStop[0], 'sleep');
  assert.ok(pod.terminationGracePeriodSeconds > config.server.shutdown_grace_seconds + Number(preStop[1]));

  assert.equal(deployment.spec.replicas, 3);
  assert.equal(pod.securityContext.runAsNonRoot, true);
  assert.ok(pod.securityContext.runAsUser > 0);
  assert.equal(container.securityContext.readOnlyRootFilesystem, true);
  assert.ok(container.resources.requests.memory && container.resources.limits.memory);
});

test('the manifests agree: namespace, labels, the Service, the Ingress', () => {
  const namespace = only('Namespace').metadata.name;
  for (const o of objects) {
    if (o.kind !== 'Namespace') assert.equal(o.metadata.namespace, namespace, `${o.kind} ${o.metadata.name} is in another namespace`);
  }
  const deployment = only('Deployment');
  const labels = deployment.spec.template.metadata.labels;
  const selects = (selector: Record<string, string>) => Object.entries(selector).every(([k, v]) => labels[k] === v);
  assert.ok(selects(deployment.spec.selector.matchLabels), "the Deployment's selector does not match its pods");
  const service = only('Service');
  assert.ok(selects(service.spec.selector), 'the Service does not select the pods');
  const portNames = deployment.spec.template.spec.containers[0].ports.map((p: any) => p.name);
  for (const p of service.spec.ports) assert.ok(portNames.includes(p.targetPort), `the Service targets port ${p.targetPort}`);
  for (const budget of objects.filter((o) => o.kind === 'PodDisruptionBudget')) {
    assert.ok(selects(budget.spec.selector.matchLabels), 'the PodDisruptionBudget does not select the pods');
  }
  const ingress = only('Ingress');
  for (const rule of ingress.spec.rules) {
    for (const p of rule.http.paths) {
      assert.equal(p.backend.service.name, service.metadata.name);
      assert.ok(
        service.spec.ports.some((sp: any) => sp.name === p.backend.service.port.name),
        'the Ingress names a port the Service lacks',
      );
    }
  }
  assert.equal(ingress.metadata.annotations?.['nginx.ingress.kubernetes.io/proxy-body-size'], '0');
});

test('the Dockerfile builds from node:20-bookworm-slim with npm ci and runs bin/berth.js', () => {
  const blocks = codeBlocks('dockerfile');
  assert.equal(blocks.length, 1);
  const dockerfile = blocks[0];
  const bases = [...dockerfile.matchAll(/^FROM (\S+)/gm)].map((m) => m[1]);
  assert.ok(bases.length > 0 && bases.every((b) => b === 'node:20-bookworm-slim'), `base images: ${bases.join(', ')}`);
  assert.match(dockerfile, /^RUN npm ci\b/m);
  for (const m of dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)) {
    for (const source of m[1].split(' ')) assert.ok(existsSync(path.join(root, source)), `COPY ${source}: not in the repository`);
  }
  const cmd = JSON.parse(/^CMD (.+)$/m.exec(dockerfile)![1]) as string[];
  assert.deepEqual(cmd.slice(0, 3), ['node', 'bin/berth.js', 'serve']);
  assert.ok(existsSync(path.join(root, cmd[1])));
  assert.match(dockerfile, /^USER node$/m);
});

test('links and anchors of the page resolve', () => {
  const slugs = new Set(
    [...markdown.matchAll(/^#+ (.+)$/gm)].map((m) =>
      m[1]
        .toLowerCase()
        .replace(/[^a-z0-9 _-]/g, '')
        .replace(/ /g, '-'),
    ),
  );
  for (const m of markdown.matchAll(/\]\(([^)\s]+)\)/g)) {
    const target = m[1];
    if (/^https?:/.test(target)) continue;
    if (target.startsWith('#')) assert.ok(slugs.has(target.slice(1)), `no heading for ${target}`);
    else assert.ok(existsSync(path.join(root, 'docs', target.split('#')[0])), `${target} does not exist`);
  }
  assert.match(readFileSync(path.join(root, 'README.md'), 'utf8'), /\(docs\/DEPLOYMENT\.md\)/);
});

/**
 * Runs the readiness probe's command against another port; resolves with its exit status.
 * Asynchronously: the server under test runs in this process and must keep answering.
 */
function runReadinessProbe(port: number): Promise<number | null> {
  const command: string[] = only('Deployment').spec.template.spec.containers[0].readinessProbe.exec.command;
  assert.equal(command[0], 'node');
  const args = command.slice(1).map((a) => a.replace('127.0.0.1:8080', `127.0.0.1:${port}`));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: 'ignore', timeout: 15_000 });
    child.on('error', reject);
    child.on('exit', (code) => resolve(code));
  });
}

test('the readiness probe passes on a healthy Berth and fails on an unhealthy answer or none', async () => {
  const server = await startServer();
  try {
    const port = Number(new URL(server.url).port);
    assert.equal(await runReadinessProbe(port), 0);
  } finally {
    await server.stop();
  }

  // /health answers 200 with status unhealthy when a component fails: the probe reads the status.
  const fake = http.createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ status: 'unhealthy', components: [{ name: 'database', status: 'unhealthy', error: 'down' }] }));
  });
  await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
  const fakePort = (fake.address() as AddressInfo).port;
  try {
    assert.equal(await runReadinessProbe(fakePort), 1);
  } finally {
    await new Promise((resolve) => fake.close(resolve));
  }
  // Nothing listening.
  assert.equal(await runReadinessProbe(fakePort), 1);
});

test('"Starting and upgrading" says what instances starting together on an empty database do: they all start', () => {
  const section = markdown.split(/^### Starting and upgrading$/m)[1]?.split(/^##/m)[0];
  assert.ok(section, 'docs/DEPLOYMENT.md has a "Starting and upgrading" section');
  // The first start's inserts recover from the race (test/e2e/instances.test.ts starts two
  // instances together on an empty database): no instance exits, none need start first.
  assert.doesNotMatch(section, /exits with an error|duplicate key|avoid the restart/);
  for (const step of ['`library`', '`admin`', 'signing key']) assert.ok(section.includes(step), `the section names ${step}`);
});
