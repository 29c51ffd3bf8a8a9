#!/usr/bin/env node
// Lists every operation (path + method) of Harbor's API reference, grouped by Harbor's tag,
// and marks those Berth registers: Berth is started in-process (from src/, through tsx,
// without listening) and asked for each route.
//
//   node scripts/harbor-paths.mjs                   prints the table skeleton (Markdown)
//   node scripts/harbor-paths.mjs --check [FILE]    checks the Harbor API table of FILE
//                                                   (docs/COMPATIBILITY.md): one row per
//                                                   operation, "done"/"partly" only for
//                                                   registered ones, "not yet" only for others
//
// The reference is ../shared/reference/harbor-swagger.yaml beside the repository (outside
// it), or $HARBOR_SWAGGER. It is read, never served or fetched.
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const methods = ['get', 'head', 'post', 'put', 'patch', 'delete'];

function swaggerFile() {
  const candidates = [process.env.HARBOR_SWAGGER, path.resolve(root, '../shared/reference/harbor-swagger.yaml')];
  return candidates.find((p) => p && existsSync(p));
}

/** Harbor's operations in the reference's order: { tag, method, path }. */
function harborOperations(file) {
  const doc = parse(readFileSync(file, 'utf8'));
  const operations = [];
  for (const [p, item] of Object.entries(doc.paths)) {
    for (const method of methods) {
      if (item[method]) operations.push({ tag: item[method].tags?.[0] ?? 'untagged', method: method.toUpperCase(), path: p });
    }
  }
  return { basePath: doc.basePath ?? '', operations };
}

/** A path with every parameter written `:` (Harbor's {name} and Fastify's :name alike). */
const shape = (p) => p.replace(/\{[^}]+\}/g, ':').replace(/:[A-Za-z_][\w|:]*/g, ':');

/** Starts Berth from src/ on a scratch data directory; returns its Fastify instance and a stop function. */
async function startBerth() {
  const { register } = await import('tsx/esm/api');
  register();
  const { createBerth } = await import(path.join(root, 'src', 'app.ts'));
  const { loadConfig } = await import(path.join(root, 'src', 'config', 'load.ts'));
  const { default: pino } = await import('pino');
  const dataDir = await mkdtemp(path.join(tmpdir(), 'berth-harbor-paths-'));
  const config = loadConfig({
    env: {},
    file: undefined,
    overrides: [
      [['data_dir'], dataDir],
      [['log', 'level'], 'silent'],
      [['auth', 'admin_password'], 'Harbor12345'],
    ],
  });
  const berth = await createBerth(config, pino({ level: 'silent' }));
  await berth.http.ready();
  return {
    http: berth.http,
    async stop() {
      await berth.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Every route Fastify holds, as "METHOD /path", read from printRoutes' tree. */
function allRoutes(http) {
  const routes = [];
  const stack = [];
  for (const line of http.printRoutes({ commonPrefix: false }).split('\n')) {
    const m = /^((?:[│ ] {3})*)[├└]── (.*?)(?: \(([^)]*)\))?$/.exec(line);
    if (!m) continue;
    const depth = m[1].length / 4;
    stack.length = depth;
    stack.push(m[2]);
    for (const method of (m[3] ?? '').split(', ').filter(Boolean)) routes.push({ method, path: stack.join('') });
  }
  return routes;
}

const file = swaggerFile();
if (!file) {
  console.error(
    "Harbor's API reference is not at hand: put it at ../shared/reference/harbor-swagger.yaml beside the repository, or set HARBOR_SWAGGER.",
  );
  process.exit(2);
}
const { basePath, operations } = harborOperations(file);
const berth = await startBerth();
let failed = false;
try {
  for (const op of operations) {
    op.registered = berth.http.hasRoute({ method: op.method, url: `${basePath}${op.path.replace(/\{([^}]+)\}/g, ':$1')}` });
  }
  const harborShapes = new Set(operations.map((op) => `${op.method} ${shape(op.path)}`));
  const extras = allRoutes(berth.http)
    .filter((r) => r.path.startsWith(`${basePath}/`) && r.method !== 'HEAD')
    .map((r) => ({ method: r.method, path: r.path.slice(basePath.length).replace(/:(\w+)(\|:\w+)*/g, '{$1}') }))
    .filter((r) => !harborShapes.has(`${r.method} ${shape(r.path)}`));

  const checkIndex = process.argv.indexOf('--check');
  if (checkIndex >= 0) {
    const docFile = path.resolve(process.argv[checkIndex + 1] ?? path.join(root, 'docs', 'COMPATIBILITY.md'));
    failed = !check(docFile, operations);
  } else {
    print(operations, extras, file);
  }
} finally {
  await berth.stop();
}
process.exit(failed ? 1 : 0);

function print(ops, extra, source) {
  const registered = ops.filter((op) => op.registered).length;
  console.log(`<!-- ${ops.length} operations in ${path.basename(source)}; Berth registers ${registered} -->`);
  for (const tag of [...new Set(ops.map((op) => op.tag))]) {
    console.log(`\n#### ${tag}\n\n| method | path | state |\n|---|---|---|`);
    for (const op of ops.filter((o) => o.tag === tag))
      console.log(`| ${op.method} | \`${op.path}\` | ${op.registered ? 'done' : 'not yet'} |`);
  }
  if (extra.length > 0) {
    console.log(`\nRegistered by Berth under ${basePath} but not in Harbor's reference:\n`);
    for (const r of extra) console.log(`- ${r.method} \`${r.path}\``);
  }
}

/** Compares the rows `| METHOD | \`path\` | state |` of the document with the operations. */
function check(docFile, ops) {
  const rows = new Map();
  const problems = [];
  for (const line of readFileSync(docFile, 'utf8').split('\n')) {
    const m = /^\| (GET|HEAD|POST|PUT|PATCH|DELETE) \| `([^`]+)` \| ([^|]+)\|/.exec(line);
    if (!m) continue;
    const key = `${m[1]} ${m[2]}`;
    if (rows.has(key)) problems.push(`${key}: listed twice`);
    rows.set(key, m[3].trim());
  }
  for (const op of ops) {
    const key = `${op.method} ${op.path}`;
    const state = rows.get(key);
    rows.delete(key);
    if (state === undefined) problems.push(`${key}: missing (${op.registered ? 'registered' : 'not registered'})`);
    else if (/^(done|partly)\b/.test(state) && !op.registered) problems.push(`${key}: says "${state}" but Berth does not register it`);
    else if (/^not yet\b/.test(state) && op.registered) problems.push(`${key}: says "${state}" but Berth registers it`);
    else if (!/^(done|partly|not yet)\b/.test(state)) problems.push(`${key}: state "${state}" is none of done, partly, not yet`);
  }
  for (const key of rows.keys()) problems.push(`${key}: not an operation of Harbor's reference`);
  if (problems.length > 0) {
    console.error(`${path.relative(root, docFile)} disagrees with Harbor's reference and Berth's routes:\n  ${problems.join('\n  ')}`);
    return false;
  }
  console.log(`${path.relative(root, docFile)}: all ${ops.length} Harbor operations listed, states agree with Berth's routes`);
  return true;
}
