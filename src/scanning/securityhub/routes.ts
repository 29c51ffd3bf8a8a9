import type { FastifyInstance } from 'fastify';
import type { AccessGuard } from '../../auth/guard.js';
import { boolParam, pagingOf, queryOf, sendPage } from '../../http/api-helpers.js';
import { addSchemas, bool, listQuery, object, ok, operation, page, ref } from '../../http/schema-helpers.js';
import { parseQuery } from '../../lib/query.js';
import { securityHubSchemas } from './schemas.js';
import type { SecurityHubService } from './service.js';

export interface SecurityHubRouteDeps {
  securityHub: SecurityHubService;
  guard: AccessGuard;
}

/** /security/summary and /security/vul, as Harbor serves them (system administrators and robots with security-hub). */
export async function registerSecurityHubRoutes(app: FastifyInstance, deps: SecurityHubRouteDeps): Promise<void> {
  const { securityHub, guard } = deps;
  addSchemas(app, securityHubSchemas);

  const getSecuritySummary = operation({
    tags: ['securityhub'],
    operationId: 'getSecuritySummary',
    summary: 'Get the vulnerability summary of the registry',
    description:
      "Counts of the default scanner's findings per severity over every artifact, the artifacts scanned, and optionally the five most dangerous CVEs and artifacts.",
    querystring: object({
      with_dangerous_cve: bool('Include the five CVEs with the highest CVSS v3 score', { default: false }),
      with_dangerous_artifact: bool('Include the five artifacts with the most critical, high and medium findings', { default: false }),
    }),
    response: { 200: ok(ref('SecuritySummary'), 'The summary') },
    errors: [400, 401, 403, 500],
  });
  app.get('/security/summary', { schema: getSecuritySummary }, async (req) => {
    guard.requireSystem(req.identity, 'security-hub', 'read');
    const q = queryOf(req);
    return securityHub.summary({
      withCves: boolParam(q.with_dangerous_cve, 'with_dangerous_cve') ?? false,
      withArtifacts: boolParam(q.with_dangerous_artifact, 'with_dangerous_artifact') ?? false,
    });
  });

  const listVulnerabilities = operation({
    tags: ['securityhub'],
    operationId: 'ListVulnerabilities',
    summary: "List the default scanner's findings over every artifact",
    description:
      'Highest CVSS v3 score first. q filters (exact unless said): cve_id, severity, status, cvss_score_v3 (range, such as cvss_score_v3=[7~10]), ' +
      'repository_name, project_id, package, tag, digest.',
    querystring: object({
      ...listQuery,
      tune_count: bool('X-Total-Count is -1 when there are more than 1000 findings (the count stops there)', { default: false }),
      with_tag: bool("Include each artifact's tags (at most 10)", { default: false }),
    }),
    response: { 200: page(ref('VulnerabilityItem'), 'One page of findings') },
    errors: [400, 401, 403, 500],
  });
  app.get('/security/vul', { schema: listVulnerabilities }, async (req, reply) => {
    guard.requireSystem(req.identity, 'security-hub', 'list');
    const q = queryOf(req);
    const terms = parseQuery(q.q);
    const paging = pagingOf(req);
    const result = await securityHub.vulnerabilities(terms, paging, {
      tuneCount: boolParam(q.tune_count, 'tune_count') ?? false,
      withTag: boolParam(q.with_tag, 'with_tag') ?? false,
    });
    return sendPage(req, reply, paging, result);
  });
}
