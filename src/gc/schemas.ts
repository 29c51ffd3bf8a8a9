import { bool, dateTime, int, object, ref, str, type SharedSchema } from '../http/schema-helpers.js';

/** Harbor's definitions the GC API answers with (documentation only: see server/openapi.ts). */

export const ScheduleObj: SharedSchema = {
  $id: 'ScheduleObj',
  description: 'When a job runs',
  ...object({
    type: str('Manual (at once), None (no schedule), Hourly, Daily, Weekly, Custom or Schedule (by cron)', {
      enum: ['Hourly', 'Daily', 'Weekly', 'Custom', 'Manual', 'None', 'Schedule'],
    }),
    cron: str('Cron expression (UTC), six fields with seconds first, or five'),
    next_scheduled_time: dateTime('The next time the schedule fires'),
  }),
};

export const Schedule: SharedSchema = {
  $id: 'Schedule',
  description: 'A schedule and the parameters of the jobs it starts',
  ...object({
    id: int('Id of the schedule'),
    status: str('Status of the schedule'),
    creation_time: dateTime('When the schedule was created'),
    update_time: dateTime('When the schedule was last changed'),
    schedule: ref('ScheduleObj'),
    parameters: {
      type: 'object',
      description:
        'GC parameters: delete_untagged, dry_run, workers (1-10), and remove_empty_repositories (Berth: delete repositories left with no artifact)',
      additionalProperties: true,
    },
  }),
};

export const GCHistory: SharedSchema = {
  $id: 'GCHistory',
  description: 'One garbage collection run, or the GC schedule',
  ...object({
    id: int('Id of the run (its job in the job service)'),
    job_name: str('GARBAGE_COLLECTION for a run; empty for the schedule'),
    job_kind: str('MANUAL or SCHEDULE for a run; the cron for the schedule'),
    job_parameters: str(
      'JSON text: the parameters (delete_untagged, dry_run, workers, time_window, remove_empty_repositories) and, once it ran, ' +
        'freed_space (bytes), purged_blobs, purged_manifests, and Berth’s purged_links, removed_repositories, kept_blobs, failed_blobs, kept_artifacts, mark_ms, sweep_ms',
    ),
    schedule: ref('ScheduleObj'),
    job_status: str('Pending, Running, Success, Error or Stopped'),
    deleted: bool('Always false'),
    creation_time: dateTime('When the run was created'),
    update_time: dateTime('When the run last changed'),
  }),
};

export const gcSchemas = [ScheduleObj, Schedule, GCHistory];
