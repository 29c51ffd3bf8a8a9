import { bool, dateTime, int, object, ref, str, type SharedSchema } from '../http/schema-helpers.js';

/** Harbor's ExecHistory, which the audit log purge API answers with (documentation only: see server/openapi.ts). */
export const ExecHistory: SharedSchema = {
  $id: 'ExecHistory',
  description: 'One audit log purge run, or the purge schedule',
  ...object({
    id: int('Id of the run (its job in the job service); the schedule’s id for the schedule'),
    job_name: str('PURGE_AUDIT_LOG for a run; empty for the schedule'),
    job_kind: str('MANUAL or SCHEDULE for a run; the cron for the schedule'),
    job_parameters: str(
      'JSON text: audit_retention_hour, include_event_types, dry_run and, once the run counted them, purged ' +
        '(Berth: records deleted, or that a dry run would delete)',
    ),
    schedule: ref('ScheduleObj'),
    job_status: str('Pending, Running, Success, Error or Stopped'),
    deleted: bool('Always false'),
    creation_time: dateTime('When the run was created'),
    update_time: dateTime('When the run last changed'),
  }),
};
