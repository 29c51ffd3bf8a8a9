// Regenerates the README's screenshot of the portal (docs/images/repository-page.png) from a
// real Berth with real content: `node --import tsx scripts/portal-screenshot.ts`.
// Needs Debian's chromium (apt-get install chromium).
import path from 'node:path';
import { adminPassword, startServer } from '../test/helpers/server.js';
import { pushChart, pushContainerImage, pushCosignSignature, pushMultiPlatform } from '../test/helpers/artifacts.js';
import { desktopLight, ensurePortalBuilt, launchBrowser, openPage, settle, signIn } from '../test/helpers/browser.js';

const output = path.resolve(import.meta.dirname, '..', 'docs', 'images', 'repository-page.png');

ensurePortalBuilt();
const server = await startServer();
const api = async (method: string, url: string, body?: unknown) => {
  const res = await fetch(`${server.url}/api/v2.0${url}`, {
    method,
    headers: { ...server.admin, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${await res.text()}`);
  return res;
};
const browser = await launchBrowser();
try {
  await api('POST', '/projects', { project_name: 'platform', metadata: { public: 'false' } });
  const repo = 'platform/web/frontend';
  const amd = await pushContainerImage(server, repo, '1.4.2', { os: 'linux', architecture: 'amd64' });
  await pushContainerImage(server, repo, '1.4.1', { os: 'linux', architecture: 'amd64' }, { cmd: ['/app/run.sh', '--old'] });
  await pushMultiPlatform(server, repo, '1.5.0-rc.1');
  await pushChart(server, repo, { name: 'frontend', version: '0.9.0', description: 'Helm chart of the web frontend' });
  await pushCosignSignature(server, repo, amd.digest);
  const created = await api('POST', '/labels', { name: 'production', color: '#2b8a3e', scope: 'g', description: 'Serving traffic' });
  const labelId = Number(created.headers.get('location')!.split('/').pop());
  await api('POST', `/projects/platform/repositories/${encodeURIComponent(encodeURIComponent('web/frontend'))}/artifacts/1.4.2/labels`, {
    id: labelId,
  });
  await api('PUT', `/projects/platform/repositories/${encodeURIComponent(encodeURIComponent('web/frontend'))}`, {
    description: 'The customer-facing web frontend. Built by CI from `main`; tags follow semver.',
  });

  const watched = await openPage(browser, server.url, { ...desktopLight, height: 720 });
  await signIn(watched.page, 'admin', adminPassword);
  await watched.page.goto('/projects/platform/repositories/web/frontend');
  await watched.page.getByRole('table', { name: 'Artifacts' }).getByRole('row').nth(4).waitFor();
  await settle(watched.page);
  await watched.page.mouse.move(0, 0);
  await watched.page.screenshot({ path: output });
  watched.assertNoConsoleErrors();
  console.log(`wrote ${path.relative(process.cwd(), output)}`);
} finally {
  await browser.close();
  await server.stop();
}
