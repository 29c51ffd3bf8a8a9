/**
 * The server side of the Pluggable Scanner API: Berth's built-in scanner as an adapter that
 * Harbor (or another Berth) can register. A scan request is checked, kept in
 * `scanner_adapter_scans` and run as a `SCANNER_ADAPTER_SCAN` job, which pulls the image
 * from the caller's registry with the authorization it sent, unchanged. Reports stay a day.
 */
import { randomUUID } from 'node:crypto';
import type { Db } from '../../db/index.js';
import { nowIso } from '../../lib/clock.js';
import type { JobQueue } from '../../jobs/queue.js';
import type { JobContext } from '../../jobs/runner.js';
import { reportMimeTypes, type ImageSource, type SbomMediaType } from '../types.js';
import type { AdapterClient, ReportResult } from './client.js';
import { ScannerAdapterError } from './client.js';
import type { BuiltinScanner, ScanOutcome } from './engine.js';
import { adapterMimeTypes, isSbomMediaType, manifestMimeTypes, mimeBase, sameMime, type ScanRequest } from './spec.js';

export const adapterScanJobType = 'SCANNER_ADAPTER_SCAN';
export const adapterPruneJobType = 'SCANNER_ADAPTER_PRUNE';

/** How long a scan's reports are kept after it ends (Harbor fetches them within minutes). */
const keepMs = 24 * 3600_000;
/** What a 302 asks the caller to wait, in seconds. */
export const refreshAfterSeconds = 2;

/** A refusal with the adapter API's status and its error body's message. */
export class AdapterProblem extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'AdapterProblem';
  }
}

export type ImageSourceFactory = (
  registryUrl: string,
  repository: string,
  authorization: string | undefined,
  options: { insecure: boolean },
) => ImageSource;

interface Wanted {
  vulnerability: boolean;
  sbom: SbomMediaType[];
}

type StoredRequest = ScanRequest & { wanted: Wanted };

const reportKeyOf = (mimeType: string, sbom?: SbomMediaType) => (sbom ? `${reportMimeTypes.sbom}|${sbom}` : mimeType);

export type ReportAnswer = { kind: 'ready'; mimeType: string; body: string } | { kind: 'pending'; refreshAfterSeconds: number };

export class AdapterService {
  constructor(
    private readonly db: Db,
    private readonly queue: JobQueue,
    private readonly engine: BuiltinScanner,
    private readonly sourceFor: ImageSourceFactory,
  ) {}

  /** POST /scan: the checked request is stored and its job enqueued in one transaction. */
  async accept(body: unknown): Promise<{ id: string }> {
    const request = checkRequest(body);
    const id = randomUUID();
    const now = nowIso();
    await this.db.transaction().execute(async (tx) => {
      const jobId = await this.queue.enqueue(adapterScanJobType, { scanId: id }, { tx, maxAttempts: 1 });
      await tx
        .insertInto('scanner_adapter_scans')
        .values({
          id,
          status: 'Pending',
          request: JSON.stringify(request),
          reports: null,
          error: null,
          job_id: jobId,
          created_at: now,
          updated_at: now,
        })
        .execute();
    });
    return { id };
  }

  /** GET /scan/{id}/report for one report MIME type (and, for an SBOM, its media type). */
  async report(id: string, accept: string | undefined, sbomMediaType: string | undefined): Promise<ReportAnswer> {
    const mimeType = pickReportType(accept);
    let sbom: SbomMediaType | undefined;
    if (mimeType === reportMimeTypes.sbom) {
      if (sbomMediaType === undefined || sbomMediaType === '')
        throw new AdapterProblem(400, 'the query parameter sbom_media_type is required for an SBOM report');
      if (!isSbomMediaType(sbomMediaType))
        throw new AdapterProblem(
          400,
          `sbom_media_type ${sbomMediaType} is not supported; use application/spdx+json or application/vnd.cyclonedx+json`,
        );
      sbom = sbomMediaType;
    }
    const row = await this.db.selectFrom('scanner_adapter_scans').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw new AdapterProblem(404, `scan request ${id} not found`);
    if (row.status === 'Pending' || row.status === 'Running') {
      // A job that ended without recording its end (its instance died mid-scan, or it was stopped) is a failed scan.
      const job = row.job_id === null ? undefined : await this.queue.get(Number(row.job_id));
      if (job && (job.status === 'error' || job.status === 'stopped')) {
        throw new AdapterProblem(500, `the scan ended without a result: ${job.lastError ?? job.status}`);
      }
      return { kind: 'pending', refreshAfterSeconds };
    }
    if (row.status === 'Error') throw new AdapterProblem(500, row.error ?? 'the scan failed');
    const reports = JSON.parse(row.reports ?? '{}') as Record<string, string>;
    const key = reportKeyOf(mimeType === reportMimeTypes.vulnerabilityLegacy ? reportMimeTypes.vulnerability : mimeType, sbom);
    const report = reports[key];
    if (report === undefined) {
      const what = sbom ? `an SBOM in ${sbom}` : 'a vulnerability report';
      throw new AdapterProblem(400, `scan request ${id} did not ask for ${what} (enabled_capabilities)`);
    }
    return { kind: 'ready', mimeType, body: report };
  }

  /** The SCANNER_ADAPTER_SCAN job: pull, inventory, match, keep the reports. */
  async handle(ctx: JobContext<{ scanId: string }>): Promise<void> {
    const id = ctx.payload.scanId;
    const row = await this.db.selectFrom('scanner_adapter_scans').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row || row.status === 'Success' || row.status === 'Error') return;
    const request = JSON.parse(row.request) as StoredRequest;
    await this.setStatus(id, 'Running');
    await ctx.log(`scanning ${request.artifact.repository}@${request.artifact.digest} from ${request.registry.url}`);
    let outcome: ScanOutcome;
    try {
      const source = this.sourceFor(request.registry.url, request.artifact.repository, request.registry.authorization, {
        insecure: request.registry.insecure === true,
      });
      outcome = await this.engine.scan(
        source,
        {
          repository: request.artifact.repository,
          digest: request.artifact.digest,
          tag: request.artifact.tag,
          mimeType: request.artifact.mime_type,
        },
        { vulnerability: request.wanted.vulnerability, sbom: request.wanted.sbom },
        ctx.signal,
      );
    } catch (err) {
      // One attempt: the caller (Harbor's scan job) decides whether to scan again.
      await this.finish(id, request, { status: 'Error', error: err instanceof Error ? err.message : String(err) });
      throw err;
    }
    const reports: Record<string, string> = {};
    if (outcome.vulnerability) reports[reportMimeTypes.vulnerability] = JSON.stringify(outcome.vulnerability);
    for (const sbom of outcome.sbom ?? []) reports[reportKeyOf(reportMimeTypes.sbom, sbom.media_type)] = JSON.stringify(sbom);
    await this.finish(id, request, { status: 'Success', reports: JSON.stringify(reports) });
    await ctx.log(
      `done: ${outcome.vulnerability ? `${outcome.vulnerability.vulnerabilities.length} vulnerabilities` : 'no vulnerability report'}, ${outcome.sbom?.length ?? 0} SBOM(s)`,
    );
  }

  /** Removes scans that ended (or were accepted) more than a day ago. */
  async prune(now = Date.now()): Promise<number> {
    const r = await this.db
      .deleteFrom('scanner_adapter_scans')
      .where('updated_at', '<', new Date(now - keepMs).toISOString())
      .executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  private async setStatus(id: string, status: string): Promise<void> {
    await this.db.updateTable('scanner_adapter_scans').set({ status, updated_at: nowIso() }).where('id', '=', id).execute();
  }

  /** The end of a scan; the registry credential is not kept past it. */
  private async finish(
    id: string,
    request: StoredRequest,
    end: { status: 'Success' | 'Error'; reports?: string; error?: string },
  ): Promise<void> {
    const { authorization: _dropped, ...registry } = request.registry;
    await this.db
      .updateTable('scanner_adapter_scans')
      .set({
        status: end.status,
        reports: end.reports ?? null,
        error: end.error ?? null,
        request: JSON.stringify({ ...request, registry }),
        updated_at: nowIso(),
      })
      .where('id', '=', id)
      .execute();
  }
}

/** The report type an Accept header asks for; no Accept or a wildcard is the vulnerability report (v1.1). */
export function pickReportType(accept: string | undefined): string {
  const value = (accept ?? '').trim();
  if (value === '' || value === '*/*' || mimeBase(value) === 'application/json') return reportMimeTypes.vulnerability;
  for (const known of [reportMimeTypes.vulnerability, reportMimeTypes.vulnerabilityLegacy, reportMimeTypes.sbom]) {
    if (value.split(',').some((part) => sameMime(part, known))) return known;
  }
  if (sameMime(value, adapterMimeTypes.rawReport))
    throw new AdapterProblem(501, `report type ${adapterMimeTypes.rawReport} is not produced by this scanner`);
  throw new AdapterProblem(
    501,
    `report type ${value} is not supported; supported: ${reportMimeTypes.vulnerability}, ${reportMimeTypes.vulnerabilityLegacy}, ${reportMimeTypes.sbom}`,
  );
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown) => typeof v === 'string' && v.trim() !== '';

/**
 * A ScanRequest as the spec and Harbor's Validate define it: 422 for a missing or invalid
 * field, 501 for an artifact type or capability this scanner does not have.
 */
export function checkRequest(body: unknown): StoredRequest {
  if (!isObject(body)) throw new AdapterProblem(400, 'the scan request must be a JSON object');
  const { registry, artifact } = body;
  if (!isObject(registry) || !str(registry.url)) throw new AdapterProblem(422, 'scan request: invalid registry: registry.url is required');
  let url: URL;
  try {
    url = new URL(registry.url as string);
  } catch {
    throw new AdapterProblem(422, `scan request: invalid registry: registry.url ${String(registry.url)} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new AdapterProblem(422, 'scan request: invalid registry: registry.url must be http or https');
  if (registry.authorization !== undefined && registry.authorization !== null && typeof registry.authorization !== 'string') {
    throw new AdapterProblem(400, 'registry.authorization must be a string');
  }
  if (!isObject(artifact) || !str(artifact.repository) || !str(artifact.digest) || !str(artifact.mime_type)) {
    throw new AdapterProblem(422, 'scan request: invalid artifact: repository, digest and mime_type are required');
  }
  if (!/^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/.test(artifact.digest as string)) {
    throw new AdapterProblem(422, `scan request: invalid artifact: digest ${String(artifact.digest)} is not a digest`);
  }
  const consumable: string[] = [
    manifestMimeTypes.oci,
    manifestMimeTypes.docker,
    'application/vnd.oci.image.index.v1+json',
    'application/vnd.docker.distribution.manifest.list.v2+json',
  ];
  if (!consumable.includes(artifact.mime_type as string)) {
    throw new AdapterProblem(
      501,
      `artifact mime_type ${String(artifact.mime_type)} is not supported; supported: ${manifestMimeTypes.oci}, ${manifestMimeTypes.docker}`,
    );
  }
  const wanted: Wanted = { vulnerability: false, sbom: [] };
  const enabled = body.enabled_capabilities;
  if (enabled === undefined || enabled === null || (Array.isArray(enabled) && enabled.length === 0)) {
    wanted.vulnerability = true;
  } else if (!Array.isArray(enabled)) {
    throw new AdapterProblem(400, 'enabled_capabilities must be an array');
  } else {
    for (const cap of enabled) {
      if (!isObject(cap)) throw new AdapterProblem(400, 'each of enabled_capabilities must be an object');
      const type = cap.type === undefined || cap.type === '' ? 'vulnerability' : cap.type;
      const produces = cap.produces_mime_types;
      if (produces !== undefined && produces !== null && (!Array.isArray(produces) || produces.some((p) => typeof p !== 'string'))) {
        throw new AdapterProblem(400, 'produces_mime_types must be an array of strings');
      }
      if (type === 'vulnerability') {
        for (const p of (produces as string[] | undefined) ?? []) {
          if (!sameMime(p, reportMimeTypes.vulnerability) && !sameMime(p, reportMimeTypes.vulnerabilityLegacy)) {
            throw new AdapterProblem(501, `the vulnerability capability does not produce ${p}`);
          }
        }
        wanted.vulnerability = true;
      } else if (type === 'sbom') {
        for (const p of (produces as string[] | undefined) ?? []) {
          if (!sameMime(p, reportMimeTypes.sbom)) throw new AdapterProblem(501, `the sbom capability does not produce ${p}`);
        }
        const params = cap.parameters;
        const types = isObject(params) ? params.sbom_media_types : undefined;
        if (!Array.isArray(types) || types.length === 0)
          throw new AdapterProblem(422, 'scan request: the sbom capability needs parameters.sbom_media_types');
        for (const t of types) {
          if (!isSbomMediaType(t))
            throw new AdapterProblem(
              422,
              `scan request: sbom media type ${String(t)} is not supported; use application/spdx+json or application/vnd.cyclonedx+json`,
            );
          if (!wanted.sbom.includes(t)) wanted.sbom.push(t);
        }
      } else {
        throw new AdapterProblem(501, `capability type ${String(type)} is not supported; supported: vulnerability, sbom`);
      }
    }
  }
  return {
    registry: {
      url: registry.url as string,
      authorization: (registry.authorization as string | undefined) ?? undefined,
      insecure: registry.insecure === true,
    },
    artifact: {
      repository: artifact.repository as string,
      digest: artifact.digest as string,
      ...(str(artifact.tag) ? { tag: artifact.tag as string } : {}),
      mime_type: artifact.mime_type as string,
    },
    wanted,
  };
}

/** The built-in scanner as an AdapterClient, without an HTTP hop (ping, metadata, and scans for another registry). */
export class LocalAdapterClient implements AdapterClient {
  constructor(
    private readonly engine: BuiltinScanner,
    private readonly adapter: AdapterService,
  ) {}

  metadata() {
    return this.engine.metadata();
  }

  async scan(request: ScanRequest): Promise<{ id: string }> {
    try {
      return await this.adapter.accept(request);
    } catch (err) {
      if (err instanceof AdapterProblem) throw new ScannerAdapterError(err.message, err.status);
      throw err;
    }
  }

  async report(id: string, mimeType: string, options: { sbomMediaType?: SbomMediaType } = {}): Promise<ReportResult> {
    try {
      const answer = await this.adapter.report(id, mimeType, options.sbomMediaType);
      return answer.kind === 'pending'
        ? { status: 'pending', refreshAfterSeconds: answer.refreshAfterSeconds }
        : { status: 'ready', body: answer.body };
    } catch (err) {
      if (err instanceof AdapterProblem) throw new ScannerAdapterError(err.message, err.status);
      throw err;
    }
  }
}
