import type { FastifyInstance } from 'fastify';
import type { AccessGuard } from '../../auth/guard.js';
import { displayName } from '../../auth/identity.js';
import {
  addSchemas,
  arrayOf,
  createdWithLocation,
  dateTime,
  int,
  object,
  ok,
  operation,
  ref,
  str,
  type SharedSchema,
} from '../../http/schema-helpers.js';
import type { VulnDbService } from './service.js';

export interface VulnDbRouteDeps {
  vulndb: VulnDbService;
  guard: AccessGuard;
}

const tags = ['vulndb'];

const VulnDbStatus: SharedSchema = {
  $id: 'VulnDbStatus',
  description: "Berth: the built-in scanner's vulnerability database (OSV records)",
  ...object({
    updated_at: { ...dateTime('The newest modification time of the imported records; null when the database is empty'), nullable: true },
    advisories: int('Records stored'),
    url: str('Where updates download `<url>/<Ecosystem>/all.zip` from (scanning.vulndb.url)'),
    ecosystems: arrayOf(
      object({
        ecosystem: str('The OSV ecosystem folder (Debian, npm, …)'),
        records: int('Records of that folder concerning a supported package, at its last import'),
        imported_at: dateTime('When it was last imported'),
        source: str('The archive URL or local path it was imported from'),
        newest_modified: { ...dateTime('The newest modification time among its records'), nullable: true },
      }),
      'The last import of each ecosystem',
    ),
    last_update: {
      ...object({
        id: int('Id of the VULNDB_UPDATE job (GET /jobservice/jobs/{id}/log for its log)'),
        status: str('Pending, Running, Success, Error or Stopped'),
        creation_time: dateTime('When it was queued'),
        update_time: dateTime('When it last changed'),
        error: str('Why it failed'),
      }),
      nullable: true,
      description: 'The latest update job; null when there was none',
    },
  }),
};

/**
 * Berth's own API for the vulnerability database (Harbor has none: its Trivy adapter keeps its
 * database). Readable and updatable by system administrators (and robots with the system
 * scanner permission).
 */
export async function registerVulnDbRoutes(app: FastifyInstance, deps: VulnDbRouteDeps): Promise<void> {
  const { vulndb, guard } = deps;
  addSchemas(app, [VulnDbStatus]);

  const getVulnDb = operation({
    tags,
    operationId: 'getVulnDb',
    summary: 'Get the status of the vulnerability database',
    description: 'Berth extension: when the database was updated, the records per ecosystem, and the latest update job.',
    response: { 200: ok(ref('VulnDbStatus'), 'The status') },
    errors: [401, 403, 500],
  });
  app.get('/vulndb', { schema: getVulnDb }, async (req) => {
    guard.requireSystem(req.identity, 'scanner', 'read');
    return vulndb.status();
  });

  const updateVulnDb = operation({
    tags,
    operationId: 'updateVulnDb',
    summary: 'Update the vulnerability database',
    description:
      'Berth extension: queues a VULNDB_UPDATE job that downloads each configured ecosystem’s all.zip from scanning.vulndb.url and imports it. ' +
      'Location names the job (its log at /jobservice/jobs/{id}/log). 409 while an update is pending or running.',
    response: { 201: createdWithLocation('The update job was queued') },
    errors: [401, 403, 409, 500],
  });
  app.post('/vulndb/update', { schema: updateVulnDb }, async (req, reply) => {
    guard.requireSystem(req.identity, 'scanner', 'create');
    const id = await vulndb.startUpdate(displayName(req.identity));
    return reply.code(201).header('location', `/api/v2.0/jobservice/jobs/${id}`).send();
  });
}
