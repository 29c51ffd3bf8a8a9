import { bool, dateTime, int, object, str, type JsonSchema, type SharedSchema } from '../http/schema-helpers.js';

/** The scrub API's definitions (Berth's own; shaped like Harbor's GCHistory). Documentation only: see server/openapi.ts. */

const scheduleObject = (what: string): JsonSchema =>
  object({
    type: str(`${what}: Hourly, Daily, Weekly or Custom for a cron schedule; Manual for a run started by hand (or by berth scrub)`, {
      enum: ['Hourly', 'Daily', 'Weekly', 'Custom', 'Manual', 'None', 'Schedule'],
    }),
    cron: str('Cron expression, in UTC (6 fields with seconds first, or 5)'),
    next_scheduled_time: dateTime('When the schedule next starts a run'),
  });

const counts: Record<string, JsonSchema> = {
  blobs_total: int('Blobs stored when the run started'),
  blobs_checked: int('Blobs re-hashed so far'),
  bytes_checked: int('Bytes hashed so far'),
  manifests_total: int('Manifests stored when the run started'),
  manifests_checked: int('Manifests checked so far'),
  digest_mismatches: int('Blobs whose stored bytes hash to another digest'),
  size_mismatches: int('Blobs whose stored object has another length than recorded'),
  missing_objects: int('Blobs recorded whose object is not in storage'),
  read_errors: int('Blobs that could not be read to the end (reported, never quarantined)'),
  broken_references: int(
    'Manifest references to a blob that is not stored or has another size, or to an index child not in the repository',
  ),
  manifest_mismatches: int('Stored manifests whose bytes do not hash to their digest or do not parse'),
  affected_artifacts: int('Artifacts naming a quarantined blob'),
  quarantined: int('Blobs quarantined (or still quarantined) by the run'),
  released: int('Quarantined blobs that verified again and were released'),
};

export const ScrubHistory: SharedSchema = {
  $id: 'ScrubHistory',
  description: "One integrity scrub run, in the shape of Harbor's GCHistory, with Berth's results",
  ...object({
    id: int('Id of the run'),
    job_name: str('Always SCRUB'),
    job_kind: str('What started it: MANUAL, SCHEDULE or CLI (berth scrub)'),
    job_parameters: str('JSON text: the parameters (workers, quarantine) and the counts below, as Harbor reports GC results'),
    schedule: scheduleObject('How it was started'),
    job_status: str('Pending, Running, Success, Error or Stopped (also for a run that did not start because another was running)'),
    deleted: bool('Always false'),
    creation_time: dateTime('When the run was requested'),
    update_time: dateTime('When it last changed (progress is written about once a second)'),
    results: object({
      ...counts,
      problems: int('Every problem counted above except affected artifacts: berth scrub exits non-zero when this is not 0'),
      message: str('How the run ended, in words', { nullable: true }),
      start_time: { ...dateTime('When it started scrubbing; null while pending'), nullable: true },
      end_time: { ...dateTime('When it ended; null until then'), nullable: true },
    }),
  }),
};

export const ScrubSchedule: SharedSchema = {
  $id: 'ScrubSchedule',
  description: "The scrub's schedule, in the shape Harbor answers for the GC schedule",
  ...object({
    id: int('Id of the schedule'),
    job_name: str('Empty'),
    job_kind: str('The cron expression'),
    job_parameters: str('JSON text: the parameters each scheduled run gets'),
    job_status: str('Paused when the schedule is paused, else empty'),
    deleted: bool('Always false'),
    schedule: scheduleObject('The schedule'),
    creation_time: dateTime('When it was created'),
    update_time: dateTime('When it was last changed'),
  }),
};

export const ScrubScheduleRequest: SharedSchema = {
  $id: 'ScrubScheduleRequest',
  description:
    "Starts a scrub (type Manual), sets its schedule (Hourly, Daily, Weekly, Custom, with a cron) or removes it (None), as Harbor's Schedule does for GC",
  ...object(
    {
      schedule: object(
        { type: str('Manual, None, Hourly, Daily, Weekly or Custom'), cron: str('Cron expression (required but for Manual and None)') },
        ['type'],
      ),
      parameters: object({
        workers: int('Blobs hashed at once, 1 to 32 (default: scrub.workers)', { minimum: 1, maximum: 32 }),
        quarantine: bool('Quarantine the blobs found corrupt or missing (default true; false only reports)'),
      }),
    },
    ['schedule'],
  ),
};

export const ScrubFinding: SharedSchema = {
  $id: 'ScrubFinding',
  description: 'One problem a scrub run found',
  ...object({
    id: int('Id of the finding'),
    kind: str(
      'digest_mismatch, size_mismatch, missing_object, read_error (a blob); missing_blob, reference_size_mismatch, missing_child (a reference of a manifest); manifest_mismatch (a manifest); affected_artifact (an artifact naming a quarantined blob)',
    ),
    digest: str('The blob (or manifest) the finding is about'),
    repository: str('The repository, for findings about a manifest', { nullable: true }),
    artifact_digest: str('The manifest, for findings about a manifest or its references', { nullable: true }),
    expected_size: int('Size recorded (or given by the manifest)', { nullable: true }),
    actual_size: int('Size found', { nullable: true }),
    actual_digest: str('Digest the stored bytes hash to', { nullable: true }),
    quarantined: bool('Whether the blob is quarantined for it'),
    message: str('The finding in words'),
    creation_time: dateTime('When it was found'),
  }),
};

export const scrubSchemas = [ScrubHistory, ScrubSchedule, ScrubScheduleRequest, ScrubFinding];
