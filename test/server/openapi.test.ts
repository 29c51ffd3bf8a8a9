import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { api, createUser } from '../helpers/api.js';
import { pushChart, pushCosignSignature, pushMultiPlatform, pushSbomReferrer } from '../helpers/artifacts.js';
import { basicAuth, startServer, type TestServer } from '../helpers/server.js';

// ajv-formats is CommonJS: imported from ESM, its plugin is the `default` of module.exports.
const addFormats = addFormatsModule.default;

type Operation = { summary?: string; responses: Record<string, { description: string; content?: Record<string, { schema: unknown }> }> };
type OpenApiDoc = {
  openapi: string;
  info: { title: string; version: string };
  servers: Array<{ url: string }>;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, unknown> };
};

const methods = ['get', 'head', 'post', 'put', 'patch', 'delete'];

let server: TestServer;
let doc: OpenApiDoc;
let ajv: Ajv;
before(async () => {
  server = await startServer();
  const res = await fetch(`${server.url}/api/v2.0/openapi.json`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type')!, /^application\/json/);
  doc = JSON.parse(await res.text()) as OpenApiDoc;
  // Every object schema refuses undocumented fields here, so a field Berth answers with
  // but the document leaves out fails the checks below.
  ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema(closeObjects(structuredClone(doc)) as object, 'openapi');
});
after(async () => {
  await server.stop();
});

function closeObjects(node: unknown): unknown {
  if (Array.isArray(node)) node.forEach(closeObjects);
  else if (typeof node === 'object' && node !== null) {
    const schema = node as Record<string, unknown>;
    if (schema.properties !== undefined && schema.additionalProperties === undefined) schema.additionalProperties = false;
    Object.values(schema).forEach(closeObjects);
  }
  return node;
}

/** Every (method, path) the server routes, from Fastify's own route tree, with path parameters as {}. */
function registeredRoutes(): Set<string> {
  const routes = new Set<string>();
  const stack: string[] = [];
  for (const line of server.berth.http.printRoutes({ commonPrefix: false }).split('\n')) {
    const match = /^((?:│ {3}| {4})*)(?:├── |└── )(.*?)(?: \(([^)]*)\))?$/.exec(line);
    if (!match) continue;
    const depth = match[1].length / 4;
    stack.length = depth;
    stack.push(match[2]);
    const path = stack.join('');
    for (const method of match[3]?.split(', ') ?? []) routes.add(`${method} ${shape(path)}`);
  }
  return routes;
}

/** A path with every parameter as {} (Fastify may show one segment as :a|:b when routes name it differently). */
function shape(path: string): string {
  return path.replace(/:[^/]+/g, '{}').replace(/\{[^}]*\}/g, '{}');
}

/** The operations in the document, as "METHOD /api/v2.0/path" with parameters as {}. */
function documentedRoutes(): Map<string, Operation> {
  const ops = new Map<string, Operation>();
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of methods) {
      if (item[method]) ops.set(`${method.toUpperCase()} ${shape(`/api/v2.0${path}`)}`, item[method]);
    }
  }
  return ops;
}

/** Routes that are deliberately not in the document: the document itself and an alias. */
const undocumented = new Set([
  'GET /api/v2.0/openapi.json',
  // Harbor documents /metadatas/ with a trailing slash; Berth also answers without it.
  'GET /api/v2.0/projects/{}/metadatas',
  'POST /api/v2.0/projects/{}/metadatas',
]);

function apiRoutes(): string[] {
  return [...registeredRoutes()].filter((r) => {
    const path = r.slice(r.indexOf(' ') + 1);
    return (path === '/api/v2.0' || path.startsWith('/api/v2.0/')) && !path.startsWith('/api/v2.0/docs') && !undocumented.has(r);
  });
}

describe('the document', () => {
  test('is OpenAPI 3 about Berth, served under /api/v2.0', () => {
    assert.match(doc.openapi, /^3\./);
    assert.equal(doc.info.title, 'Berth');
    assert.match(doc.info.version, /^\d+\.\d+\.\d+/);
    assert.deepEqual(doc.servers, [{ url: '/api/v2.0' }]);
    assert.ok(doc.components.schemas.Errors);
    assert.ok(doc.components.schemas.Project);
  });

  test('has an operation for every /api/v2.0 route the server registered', () => {
    const routes = apiRoutes();
    assert.ok(routes.length > 30, `only ${routes.length} API routes found: is the route tree parsed?`);
    assert.ok(routes.includes('GET /api/v2.0/projects/{}/members/{}'));
    const documented = documentedRoutes();
    assert.deepEqual(
      routes.filter((r) => !documented.has(r)),
      [],
      'routes missing from the document',
    );
  });

  test('every operation has a summary and a described 200/201/202 answer (docs/ARCHITECTURE.md, "OpenAPI")', () => {
    const lacking = [...documentedRoutes()]
      .filter(([, op]) => {
        // 202: Harbor's answer to a scan, a stop and the like (queued work).
        const success = op.responses['200'] ?? op.responses['201'] ?? op.responses['202'];
        // 'Default Response' is what @fastify/swagger writes for a route without a response schema.
        return !op.summary || !success || success.description === 'Default Response';
      })
      .map(([route]) => route);
    assert.deepEqual(lacking, [], 'operations without a summary or a 200/201/202 response schema');
  });

  test("every error answer is Harbor's error body", () => {
    // Where Harbor's reference answers an error status with a body of its own.
    const harborsOwn: Record<string, unknown> = {
      'POST /api/v2.0/ldap/users/import 404': { type: 'array', items: { $ref: '#/components/schemas/LdapFailedImportUser' } },
    };
    for (const [route, op] of documentedRoutes()) {
      for (const [status, response] of Object.entries(op.responses)) {
        if (Number(status) < 400) continue;
        const schema = response.content?.['application/json']?.schema;
        const own = harborsOwn[`${route} ${status}`];
        if (own) {
          const { type, items } = (schema ?? {}) as { type?: unknown; items?: unknown };
          assert.deepEqual({ type, items }, own, `${route} ${status}`);
          continue;
        }
        assert.deepEqual(schema, { $ref: '#/components/schemas/Errors' }, `${route} ${status}`);
      }
    }
  });

  test('leaves out /v2, the token service and the portal login', () => {
    const paths = Object.keys(doc.paths);
    assert.deepEqual(
      paths.filter((p) => /^\/(v2|service|c|api)(\/|$)/.test(p)),
      [],
    );
  });

  test('is also rendered for people at /api/v2.0/docs', async () => {
    const res = await fetch(`${server.url}/api/v2.0/docs`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type')!, /^text\/html/);
    const json = await fetch(`${server.url}/api/v2.0/docs/json`);
    assert.equal(json.status, 200);
  });
});

describe('real answers match the document', () => {
  let admin: string;
  let userAuth: string;
  let robotId: number;
  before(async () => {
    admin = server.admin.authorization;
    await createUser(server, 'docreader');
    userAuth = basicAuth('docreader', 'Passw0rd1');
    assert.equal(
      (
        await api(server, 'POST', '/projects/library/members', {
          auth: admin,
          body: { role_id: 2, member_user: { username: 'docreader' } },
        })
      ).status,
      201,
    );
    const robot = await api<{ id: number }>(server, 'POST', '/robots', {
      auth: admin,
      body: {
        name: 'docs',
        level: 'project',
        duration: -1,
        permissions: [{ kind: 'project', namespace: 'library', access: [{ resource: 'repository', action: 'pull' }] }],
      },
    });
    assert.equal(robot.status, 201);
    assert.ok(validator('/robots', 'post', 201)(robot.body));
    robotId = robot.body.id;
  });

  function validator(path: string, method: string, status: number): ValidateFunction {
    const pointer = ['paths', path, method, 'responses', String(status), 'content', 'application/json', 'schema']
      .map((token) => encodeURIComponent(token.replace(/~/g, '~0').replace(/\//g, '~1')))
      .join('/');
    const validate = ajv.getSchema(`openapi#/${pointer}`);
    assert.ok(validate, `no schema for ${method.toUpperCase()} ${path} ${status}`);
    return validate;
  }

  /** Calls the API and checks the answer's status and body against the document. */
  async function check(docPath: string, url: string, options: { auth?: string; status?: number } = {}) {
    const status = options.status ?? 200;
    const res = await api(server, 'GET', url, { auth: options.auth });
    assert.equal(res.status, status, `GET ${url}: ${JSON.stringify(res.body)}`);
    const validate = validator(docPath, 'get', status);
    assert.ok(validate(res.body), `GET ${url}: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(res.body)}`);
    return res;
  }

  test('projects', async () => {
    const list = await check('/projects', '/projects', { auth: admin });
    assert.ok(list.body.length >= 1);
    assert.ok(list.headers.get('x-total-count'));
    await check('/projects', '/projects?with_detail=false', { auth: userAuth });
    await check('/projects', '/projects');
    await check('/projects/{project_name_or_id}', '/projects/library', { auth: userAuth });
    await check('/projects/{project_name_or_id}/summary', '/projects/library/summary', { auth: admin });
    await check('/projects/{project_name_or_id}/_deletable', '/projects/library/_deletable', { auth: admin });
    await check('/projects/{project_name_or_id}/metadatas/', '/projects/library/metadatas/', { auth: admin });
    await check('/projects/{project_name_or_id}/metadatas/{meta_name}', '/projects/library/metadatas/public', { auth: admin });
    await check('/projects/{project_name_or_id}', '/projects/nothere', { auth: admin, status: 404 });
  });

  test('users', async () => {
    await check('/users/current', '/users/current', { auth: admin });
    await check('/users/current', '/users/current', { auth: userAuth });
    await check('/users/current', '/users/current', { status: 401 });
    await check('/users', '/users', { auth: admin });
    await check('/users/search', '/users/search?username=doc', { auth: userAuth });
    await check('/users/current/permissions', '/users/current/permissions', { auth: userAuth });
    await check('/users/current/permissions', '/users/current/permissions?scope=/project/1&relative=true', { auth: userAuth });
  });

  test('members, robots and the audit log', async () => {
    const members = await check('/projects/{project_name_or_id}/members', '/projects/library/members', { auth: admin });
    await check('/projects/{project_name_or_id}/members/{mid}', `/projects/library/members/${members.body[0].id}`, { auth: admin });
    await check('/robots', '/robots?q=Level=project,ProjectID=1', { auth: admin });
    await check('/robots/{robot_id}', `/robots/${robotId}`, { auth: admin });
    const refreshed = await api(server, 'PATCH', `/robots/${robotId}`, { auth: admin, body: {} });
    assert.ok(validator('/robots/{robot_id}', 'patch', 200)(refreshed.body));
    await check('/audit-logs', '/audit-logs', { auth: admin });
    await check('/auditlog-exts', '/auditlog-exts', { auth: admin });
    await check('/auditlog-exts/events', '/auditlog-exts/events', { auth: admin });
    await check('/projects/{project_name}/logs', '/projects/library/logs', { auth: admin });
    await check('/projects/{project_name}/auditlog-exts', '/projects/library/auditlog-exts', { auth: admin });
  });

  test('system', async () => {
    await check('/systeminfo', '/systeminfo');
    await check('/systeminfo', '/systeminfo', { auth: admin });
    await check('/health', '/health');
    await check('/systeminfo/volumes', '/systeminfo/volumes', { auth: admin });
  });

  describe('repositories, search, labels and artifacts', () => {
    const repoPath = '/projects/{project_name}/repositories/{repository_name}';
    const artifactPath = `${repoPath}/artifacts/{reference}`;
    let index: Awaited<ReturnType<typeof pushMultiPlatform>>;
    let labelId: number;
    before(async () => {
      index = await pushMultiPlatform(server, 'library/docs-multi', 'v1');
      await pushCosignSignature(server, 'library/docs-multi', index.digest);
      await pushSbomReferrer(server, 'library/docs-multi', index.digest);
      await pushChart(server, 'library/docs-chart', { name: 'docs-chart', version: '0.1.0' });
      const created = await api(server, 'POST', '/labels', {
        auth: admin,
        body: { name: 'documented', description: 'checked against the document', color: '#61717D', scope: 'g' },
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      labelId = Number(created.headers.get('location')!.split('/').pop());
      const attached = await api(server, 'POST', '/projects/library/repositories/docs-multi/artifacts/v1/labels', {
        auth: admin,
        body: { id: labelId },
      });
      assert.equal(attached.status, 200, JSON.stringify(attached.body));
    });

    test('repositories', async () => {
      const list = await check(`/projects/{project_name}/repositories`, '/projects/library/repositories', { auth: userAuth });
      assert.ok(list.body.length >= 2);
      await check('/repositories', '/repositories', { auth: admin });
      await check('/repositories', '/repositories');
      await check(repoPath, '/projects/library/repositories/docs-multi', { auth: admin });
      await check(repoPath, '/projects/library/repositories/nothere', { auth: admin, status: 404 });
    });

    test('search and statistics', async () => {
      const found = await check('/search', '/search?q=docs', { auth: admin });
      assert.ok(found.body.project.length === 0 && found.body.repository.length === 2);
      const projects = await check('/search', '/search?q=libr', { auth: userAuth });
      assert.equal(projects.body.project.length, 1);
      await check('/search', '/search?q=', { status: 400 });
      await check('/statistics', '/statistics', { auth: admin });
      await check('/statistics', '/statistics', { auth: userAuth });
      await check('/statistics', '/statistics', { status: 401 });
    });

    test('labels', async () => {
      const list = await check('/labels', '/labels?scope=g', { auth: userAuth });
      assert.ok(list.body.length >= 1);
      await check('/labels/{label_id}', `/labels/${labelId}`, { auth: admin });
      await check('/labels/{label_id}', '/labels/999999', { auth: admin, status: 404 });
    });

    test('artifacts, with every detail', async () => {
      const details = 'with_tag=true&with_label=true&with_accessory=true&with_scan_overview=true&with_immutable_status=true';
      const list = await check(`${repoPath}/artifacts`, `/projects/library/repositories/docs-multi/artifacts?${details}`, { auth: admin });
      assert.equal(list.body.length, 1);
      const [artifact] = list.body;
      assert.equal(artifact.references.length, 2);
      assert.ok(artifact.references[0].platform);
      assert.deepEqual(
        artifact.labels.map((l: { id: number }) => l.id),
        [labelId],
      );
      assert.equal(artifact.accessories.length, 2);
      assert.deepEqual(artifact.scan_overview, {});
      await check(`${repoPath}/artifacts`, '/projects/library/repositories/docs-multi/artifacts?q=base=*', { auth: userAuth });
      await check(`${repoPath}/artifacts`, '/projects/library/repositories/docs-chart/artifacts?with_tag=false');
      const inProject = await check('/projects/{project_name_or_id}/artifacts', `/projects/library/artifacts?${details}`, { auth: admin });
      assert.ok(inProject.body.length >= 2);
      await check('/projects/{project_name_or_id}/artifacts', '/projects/1/artifacts?latest_in_repository=true', { auth: userAuth });
    });

    test('one artifact, its tags, accessories and additions, and an icon', async () => {
      const details = 'with_label=true&with_accessory=true&with_scan_overview=true';
      const one = await check(artifactPath, `/projects/library/repositories/docs-multi/artifacts/v1?${details}`, { auth: admin });
      await check(artifactPath, `/projects/library/repositories/docs-multi/artifacts/${index.images[0].digest}`, { auth: userAuth });
      const chart = await check(artifactPath, '/projects/library/repositories/docs-chart/artifacts/0.1.0', { auth: userAuth });
      assert.equal(chart.body.type, 'CHART');
      await check(artifactPath, '/projects/library/repositories/docs-multi/artifacts/v9', { auth: admin, status: 404 });
      const tags = await check(`${artifactPath}/tags`, '/projects/library/repositories/docs-multi/artifacts/v1/tags', { auth: userAuth });
      assert.deepEqual(
        tags.body.map((t: { name: string }) => t.name),
        ['v1'],
      );
      const accessories = await check(`${artifactPath}/accessories`, '/projects/library/repositories/docs-multi/artifacts/v1/accessories', {
        auth: userAuth,
      });
      assert.equal(accessories.body.length, 2);

      const history = await check(
        `${artifactPath}/additions/{addition}`,
        `/projects/library/repositories/docs-multi/artifacts/${index.images[0].digest}/additions/build_history`,
        { auth: userAuth },
      );
      assert.ok(history.body.length > 0);
      const layers = await check(
        `${artifactPath}/additions/{addition}`,
        `/projects/library/repositories/docs-multi/artifacts/${index.images[0].digest}/additions/layers`,
        { auth: userAuth },
      );
      assert.deepEqual(
        layers.body.map((l: { digest: string }) => l.digest),
        index.images[0].layers.map((l) => l.digest),
      );
      const additions = doc.paths[`${artifactPath}/additions/{addition}`].get.responses['200'].content!;
      for (const name of ['values.yaml', 'readme.md']) {
        const res = await fetch(`${server.url}/api/v2.0/projects/library/repositories/docs-chart/artifacts/0.1.0/additions/${name}`, {
          headers: { authorization: admin },
        });
        assert.equal(res.status, 200);
        const type = res.headers.get('content-type')!.split(';')[0];
        assert.ok(additions[type], `${name} is answered as ${type}, which the document does not list`);
        assert.equal(typeof (await res.text()), 'string');
      }

      const icon = await check('/icons/{digest}', `/icons/${one.body.icon}`);
      assert.equal(icon.body['content-type'], 'image/svg+xml');
      await check('/icons/{digest}', `/icons/${one.body.accessories[0].icon}`);
      await check('/icons/{digest}', `/icons/sha256:${'0'.repeat(64)}`, { status: 404 });
    });
  });
});

describe('schemas only document', () => {
  test("a path parameter the schema calls an integer is still refused by the handler, with Harbor's body", async () => {
    const res = await api(server, 'GET', '/users/abc', { auth: server.admin.authorization });
    assert.equal(res.status, 400);
    assert.deepEqual(res.body, { errors: [{ code: 'BAD_REQUEST', message: 'user_id must be a positive integer, not "abc"' }] });
  });

  test('a body the schema would refuse reaches the handler as sent', async () => {
    const id = await createUser(server, 'notanadmin');
    const res = await api(server, 'PUT', `/users/${id}/sysadmin`, { auth: server.admin.authorization, body: { sysadmin_flag: 'yes' } });
    assert.equal(res.status, 400);
    assert.match(res.body.errors[0].message, /sysadmin_flag must be true or false/);
  });
});
