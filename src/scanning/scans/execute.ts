import { reportMimeTypes, sbomMediaTypes, type SbomReport, type ScannerInfo, type VulnerabilityReport } from '../types.js';
import { scannerSubject } from './credential.js';
import type {
  LocalSources,
  RegistryCredentials,
  RemoteScanners,
  ScanArtifact,
  ScanEngine,
  ScanOutput,
  ScanRegistration,
  ScanType,
} from './ports.js';

export interface ExecuteDeps {
  engine: ScanEngine;
  sources: LocalSources;
  remote: RemoteScanners;
  credentials: RegistryCredentials;
  log(message: string): Promise<void>;
}

export interface ScanJob {
  registration: ScanRegistration;
  artifact: ScanArtifact;
  scanType: ScanType;
  /** A report uuid of the scan (names the credential's subject). */
  reportUuid: string;
  signal: AbortSignal;
}

/** Harbor polls a remote report for at most 30 minutes. */
const remoteTimeoutMs = 30 * 60_000;
/** Harbor's first poll comes after 2 s; Refresh-After is honoured up to 127 s (its int8). */
const firstPollMs = 2000;

export class ScanCancelled extends Error {
  override name = 'ScanCancelled';
}

/**
 * One scan of one image manifest by one registration: the built-in engine in-process, or a
 * remote adapter over the Pluggable Scanner API with a short-lived pull token.
 */
export async function executeScan(deps: ExecuteDeps, job: ScanJob): Promise<{ output: ScanOutput; scanner: ScannerInfo | null }> {
  const { registration, artifact, scanType, signal } = job;
  if (registration.builtin) {
    await deps.log(`scanning ${artifact.repository}@${artifact.digest} (${scanType}) with the built-in scanner`);
    const caps = scanType === 'sbom' ? { sbom: [sbomMediaTypes.spdx] } : { vulnerability: true };
    const output = await deps.engine.scan(deps.sources(artifact.repository), artifact, caps, signal);
    return { output, scanner: await deps.engine.info() };
  }
  const actions = scanType === 'sbom' ? ['pull', 'push'] : ['pull'];
  const authorization = await deps.credentials.authorization(
    scannerSubject(registration.name, job.reportUuid),
    artifact.repository,
    actions,
  );
  const mime = scanType === 'sbom' ? reportMimeTypes.sbom : reportMimeTypes.vulnerability;
  const id = await deps.remote.scan(
    registration.uuid,
    {
      registry: { url: deps.credentials.registryUrl(registration.useInternalAddr), authorization },
      artifact,
      enabled_capabilities: [
        {
          type: scanType,
          produces_mime_types: [mime],
          parameters: scanType === 'sbom' ? { sbom_media_types: [sbomMediaTypes.spdx] } : null,
        },
      ],
    },
    signal,
  );
  await deps.log(`${registration.name} (${registration.url}) accepted the scan of ${artifact.repository}@${artifact.digest}: id ${id}`);
  const deadline = Date.now() + remoteTimeoutMs;
  let waitMs = firstPollMs;
  for (;;) {
    await sleep(waitMs, signal);
    const report = await deps.remote.report(registration.uuid, id, mime, signal);
    if (report.status === 'ready') {
      const body = report.body as (VulnerabilityReport | SbomReport) & { scanner?: ScannerInfo };
      const scanner = body && typeof body === 'object' && body.scanner ? body.scanner : null;
      return { output: scanType === 'sbom' ? { sbom: body as SbomReport } : { vulnerability: body as VulnerabilityReport }, scanner };
    }
    if (Date.now() > deadline) throw new Error(`${registration.name} had no report for scan ${id} after 30 minutes`);
    waitMs = Math.min(Math.max(report.refreshAfterSeconds, 1), 127) * 1000;
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new ScanCancelled(String(signal.reason?.message ?? 'stopped')));
    const timer = setTimeout(done, ms);
    function done() {
      signal.removeEventListener('abort', abort);
      resolve();
    }
    function abort() {
      clearTimeout(timer);
      reject(new ScanCancelled(String(signal.reason?.message ?? 'stopped')));
    }
    signal.addEventListener('abort', abort, { once: true });
  });
}
