import { dateTime, int, object, ref, str, bool, type SharedSchema } from '../../http/schema-helpers.js';
import { Schedule, ScheduleObj } from '../../gc/schemas.js';

/** Harbor's definitions the scan and scan-all API answer with (documentation only: see server/openapi.ts). */

export const ScanType: SharedSchema = {
  $id: 'ScanType',
  description: 'What a scan produces',
  ...object({ scan_type: str('vulnerability (the default) or sbom', { enum: ['vulnerability', 'sbom'] }) }),
};

export const Scanner: SharedSchema = {
  $id: 'Scanner',
  description: 'The scanner that produced a report',
  ...object({ name: str('Name of the scanner'), vendor: str('Who makes it'), version: str('Its version') }),
};

export const VulnerabilitySummary: SharedSchema = {
  $id: 'VulnerabilitySummary',
  description: 'Counts of the vulnerabilities a report found',
  ...object({
    total: int('All of them'),
    fixable: int('Those with a fixed version'),
    summary: {
      type: 'object',
      description: 'Counts per severity (Critical, High, Medium, Low, Negligible, Unknown)',
      additionalProperties: { type: 'integer' },
    },
  }),
};

export const NativeReportSummary: SharedSchema = {
  $id: 'NativeReportSummary',
  description: "A vulnerability report's overview (an index: its children's reports together)",
  ...object({
    report_id: str('The report id (the scan log is at …/scan/{report_id}/log)'),
    scan_status: str('Pending, Running, Success, Error or Stopped'),
    severity: str('The highest severity found; None when nothing was found (only once the scan succeeded)'),
    duration: int('Seconds the scan took'),
    summary: ref('VulnerabilitySummary'),
    start_time: dateTime('When the scan started'),
    end_time: dateTime('When it ended'),
    complete_percent: int('0 to 100'),
    scanner: ref('Scanner'),
  }),
};

export const SBOMOverview: SharedSchema = {
  $id: 'SBOMOverview',
  description: "An SBOM generation's overview",
  ...object({
    start_time: dateTime('When it started'),
    end_time: dateTime('When it ended'),
    scan_status: str('Pending, Running, Success, Error or Stopped'),
    sbom_digest: str('Digest of the SBOM accessory attached to the artifact'),
    report_id: str('The report id'),
    duration: int('Seconds it took'),
    scanner: ref('Scanner'),
  }),
};

export const Stats: SharedSchema = {
  $id: 'Stats',
  description: 'Progress of the newest scan-all run',
  ...object({
    total: int('Scans the run started'),
    completed: int('Those that ended (Success, Error or Stopped)'),
    metrics: { type: 'object', description: 'Scans per status', additionalProperties: { type: 'integer' } },
    ongoing: bool('Whether the run is still going'),
    trigger: str('Manual, Schedule or Event'),
  }),
};

export const scanSchemas = [ScanType, Scanner, VulnerabilitySummary, NativeReportSummary, SBOMOverview, Stats, ScheduleObj, Schedule];
