import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { registryRoute } from '../../src/metrics/routes.js';

describe('registryRoute', () => {
  it('names every /v2 endpoint by its pattern, whatever the repository', () => {
    const cases: Array<[string, string]> = [
      ['/v2', '/v2/'],
      ['/v2/', '/v2/'],
      ['/v2/_catalog?n=10', '/v2/_catalog'],
      ['/v2/a/b/c/manifests/latest', '/v2/:name/manifests/:reference'],
      ['/v2/manifests/manifests/manifests/v1', '/v2/:name/manifests/:reference'],
      ['/v2/lib/app/blobs/sha256:0123', '/v2/:name/blobs/:digest'],
      ['/v2/lib/app/blobs/uploads/', '/v2/:name/blobs/uploads/'],
      ['/v2/lib/app/blobs/uploads/?digest=sha256:00&mount=x', '/v2/:name/blobs/uploads/'],
      ['/v2/lib/app/blobs/uploads/0f3c-11', '/v2/:name/blobs/uploads/:uuid'],
      ['/v2/lib/app/tags/list?n=5', '/v2/:name/tags/list'],
      ['/v2/lib/app/referrers/sha256:ab?artifactType=x', '/v2/:name/referrers/:digest'],
      ['/v2/lib/app/unknown/x', '/v2/*'],
    ];
    for (const [url, route] of cases) assert.equal(registryRoute(url), route, url);
  });
});
