import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildImage, imageBlobs, writeOciLayout, type BuiltImage } from '../helpers/layout.js';
import { types } from '../helpers/oci.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { requireTools, runTool } from '../helpers/tools.js';
import { createProject, createRobot, projectRobot, pushPull, systemRobot, type CreatedRobot } from './fixtures.js';

const skip = requireTools('skopeo', 'tar');

describe('robot accounts with skopeo', { skip }, () => {
  let server: TestServer;
  let work: string;
  let host: string;
  let layout: string;
  let image: BuiltImage;
  let ci: CreatedRobot;
  let reader: CreatedRobot;

  /** skopeo with an empty auth file of its own, so only the credentials given on the command line count. */
  function skopeo(...args: string[]) {
    return runTool('skopeo', ['--insecure-policy', ...args], {
      env: { ...process.env, REGISTRY_AUTH_FILE: path.join(work, 'auth.json') },
      timeoutMs: 180_000,
    });
  }

  function push(robot: CreatedRobot, repo: string, secret = robot.secret) {
    return skopeo(
      'copy',
      '--dest-tls-verify=false',
      '--dest-creds',
      `${robot.name}:${secret}`,
      `oci:${layout}:v1`,
      `docker://${host}/${repo}`,
    );
  }

  async function digestAs(repo: string): Promise<string | null> {
    const res = await fetch(`${server.url}/v2/${repo.replace(':', '/manifests/')}`, {
      method: 'HEAD',
      headers: { ...server.admin, accept: types.manifest },
    });
    return res.status === 200 ? res.headers.get('docker-content-digest') : null;
  }

  before(async () => {
    server = await startServer();
    host = new URL(server.url).host;
    work = await mkdtemp(path.join(tmpdir(), 'berth-robot-skopeo-'));
    await createProject(server, 'projecta');
    await createProject(server, 'projectb');
    image = await buildImage({ architecture: 'amd64', os: 'linux' }, [{ 'etc/robot': 'pushed by a robot\n' }]);
    layout = path.join(work, 'source');
    await writeOciLayout(layout, { v1: image.manifest }, imageBlobs(image));
    ci = await createRobot(server, projectRobot('projecta', 'ci', pushPull));
    reader = await createRobot(server, projectRobot('projecta', 'reader', [['repository', 'pull']]));
  });

  after(async () => {
    await server?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('a project robot with push and pull pushes to its project and reads it back', async () => {
    assert.equal(ci.name, 'robot$projecta+ci');
    await push(ci, 'projecta/app:v1');
    assert.equal(await digestAs('projecta/app:v1'), image.manifest.digest);
    const { stdout } = await skopeo(
      'inspect',
      '--raw',
      '--tls-verify=false',
      '--creds',
      `${ci.name}:${ci.secret}`,
      `docker://${host}/projecta/app:v1`,
    );
    assert.equal(stdout, image.manifest.data.toString('utf8'));
  });

  test('the same robot is refused in another project', async () => {
    await assert.rejects(push(ci, 'projectb/app:v1'), /denied|unauthorized|authentication required/i);
    assert.equal(await digestAs('projectb/app:v1'), null);
  });

  test('a pull-only robot reads but cannot push', async () => {
    await push(ci, 'projecta/readable:v1');
    const { stdout } = await skopeo(
      'inspect',
      '--raw',
      '--tls-verify=false',
      '--creds',
      `${reader.name}:${reader.secret}`,
      `docker://${host}/projecta/readable:v1`,
    );
    assert.equal(stdout, image.manifest.data.toString('utf8'));
    await assert.rejects(push(reader, 'projecta/readable:v2'), /denied|unauthorized|authentication required/i);
    assert.equal(await digestAs('projecta/readable:v2'), null);
  });

  test('a wrong secret and a disabled robot are refused', async () => {
    await assert.rejects(push(ci, 'projecta/app:wrong', 'Wrong12345'), /unauthorized|invalid username or password/i);
    const off = await createRobot(server, projectRobot('projecta', 'off', pushPull, { disable: true }));
    await assert.rejects(push(off, 'projecta/app:off'), /unauthorized|invalid username or password/i);
    assert.equal(await digestAs('projecta/app:off'), null);
  });

  test('a system robot with namespace "*" pushes to every project', async () => {
    const everywhere = await createRobot(server, systemRobot('everywhere', ['*'], pushPull));
    await push(everywhere, 'projecta/everywhere:v1');
    await push(everywhere, 'projectb/everywhere:v1');
    assert.equal(await digestAs('projecta/everywhere:v1'), image.manifest.digest);
    assert.equal(await digestAs('projectb/everywhere:v1'), image.manifest.digest);
  });
});
