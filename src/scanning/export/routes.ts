import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { bodyOf, idParam } from '../../http/api-helpers.js';
import { apiError } from '../../lib/errors.js';
import {
  addSchemas,
  arrayOf,
  bool,
  dateTime,
  int,
  object,
  ok,
  operation,
  pathParams,
  ref,
  str,
  type SharedSchema,
} from '../../http/schema-helpers.js';
import { exportScanDataType, type CveExportService } from './service.js';

const ScanDataExportRequest: SharedSchema = {
  $id: 'ScanDataExportRequest',
  description: 'What to export: one project, optionally narrowed by labels and by repository, tag and CVE id patterns',
  ...object({
    job_name: str('A name for the export'),
    projects: arrayOf(int('A project id'), 'Exactly one project id'),
    labels: arrayOf(int('A label id'), 'Only artifacts with one of these labels (all when empty)'),
    repositories: str('A doublestar pattern on repository names without the project, such as "{app,tools/**}" (all when empty)'),
    cveIds: str('A pattern on CVE ids, such as "{CVE-2024-1,CVE-2024-2}" (all when empty)'),
    tags: str('A doublestar pattern on tags (all when empty)'),
  }),
};

const ScanDataExportJob: SharedSchema = {
  $id: 'ScanDataExportJob',
  description: 'The export that was started',
  ...object({ id: int('Id of the execution') }),
};

const ScanDataExportExecution: SharedSchema = {
  $id: 'ScanDataExportExecution',
  description: 'One CVE export',
  ...object({
    id: int('Id of the execution'),
    user_id: int('The user who asked for it'),
    status: str('Pending, Running, Success, Error or Stopped'),
    trigger: str('MANUAL'),
    start_time: dateTime('When it started'),
    end_time: dateTime('When it ended'),
    status_text: str('Why it failed, or "No vulnerabilities found or matched"'),
    user_name: str('The user who asked for it'),
    file_present: bool('Whether its CSV can be downloaded (kept for a day after it ends)'),
  }),
};

const ScanDataExportExecutionList: SharedSchema = {
  $id: 'ScanDataExportExecutionList',
  description: "The caller's CVE exports",
  ...object({ items: arrayOf(ref('ScanDataExportExecution')) }),
};

const executionParams = pathParams({ execution_id: int('Id of the execution') });
const executionId = (req: FastifyRequest) => idParam((req.params as { execution_id: string }).execution_id, 'execution_id');

/** /export/cve…, as Harbor serves them. */
export async function registerCveExportRoutes(app: FastifyInstance, deps: { cveExport: CveExportService }): Promise<void> {
  const { cveExport } = deps;
  addSchemas(app, [ScanDataExportRequest, ScanDataExportJob, ScanDataExportExecution, ScanDataExportExecutionList]);
  const tags = ['scan data export'];

  const exportScanData = operation({
    tags,
    operationId: 'exportScanData',
    summary: "Export one project's vulnerabilities to CSV",
    description: `Needs export-cve create on the project (project admins, maintainers, developers). X-Scan-Data-Type must be "${exportScanDataType}". The export runs as a CVE_EXPORT job.`,
    headers: object({ 'X-Scan-Data-Type': str('The report type to export') }, ['X-Scan-Data-Type']),
    body: ref('ScanDataExportRequest'),
    response: { 200: ok(ref('ScanDataExportJob'), 'The export was started') },
    errors: [400, 401, 403, 404, 500],
  });
  app.post('/export/cve', { schema: exportScanData }, async (req) => {
    const header = req.headers['x-scan-data-type'];
    const id = await cveExport.start(req.identity, Array.isArray(header) ? header[0] : header, bodyOf(req));
    return { id };
  });

  const getExecution = operation({
    tags,
    operationId: 'getScanDataExportExecution',
    summary: 'Get one of your CVE exports',
    params: executionParams,
    response: { 200: ok(ref('ScanDataExportExecution'), 'The export') },
    errors: [400, 401, 403, 404, 500],
  });
  app.get('/export/cve/execution/:execution_id', { schema: getExecution }, async (req) =>
    cveExport.execution(req.identity, executionId(req)),
  );

  const listExecutions = operation({
    tags,
    operationId: 'getScanDataExportExecutionList',
    summary: 'List your CVE exports',
    description: 'Newest first.',
    response: { 200: ok(ref('ScanDataExportExecutionList'), 'The exports') },
    errors: [401, 403, 500],
  });
  app.get('/export/cve/executions', { schema: listExecutions }, async (req) => cveExport.list(req.identity));

  const download = operation({
    tags,
    operationId: 'downloadScanData',
    summary: 'Download the CSV of one of your CVE exports',
    description: 'The file stays for a day after the export ends; it may be downloaded more than once.',
    params: executionParams,
    querystring: object({ format: str('Only CSV') }),
    // The file is CSV; its errors are Harbor's JSON error body.
    response: {
      200: {
        description: 'The CSV',
        content: { 'text/csv': { schema: { type: 'string' } } },
        headers: { 'Content-Disposition': str('attachment; filename="scandata_export_<id>.csv"') },
      },
    },
    errors: [400, 401, 403, 404, 500],
  });
  app.get('/export/cve/download/:execution_id', { schema: download }, async (req, reply) => {
    const format = (req.query as { format?: string }).format;
    if (format !== undefined && format !== '' && format.toLowerCase() !== 'csv') {
      throw apiError('BAD_REQUEST', `format "${format}" is not supported; only CSV`);
    }
    const file = await cveExport.download(req.identity, executionId(req));
    reply.header('content-type', 'text/csv; charset=utf-8');
    reply.header('content-disposition', `attachment; filename="${file.fileName}"`);
    reply.header('content-length', file.size);
    return reply.code(200).send(Readable.from(file.body));
  });
}
