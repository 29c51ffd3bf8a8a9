import { bool, dateTime, int, object, str, type SharedSchema } from '../http/schema-helpers.js';

/** The job service dashboard's definitions, in Harbor's names (documentation only: see server/openapi.ts). */

export const WorkerPool: SharedSchema = {
  $id: 'WorkerPool',
  description: 'One Berth instance running jobs: every instance over the same database has one',
  ...object({
    pid: int('Process id of the instance'),
    worker_pool_id: str('Id of the pool, for /jobservice/pools/{pool_id}/workers'),
    start_at: dateTime('When the instance started running jobs'),
    heartbeat_at: dateTime("The pool's latest heartbeat; pools silent for a minute are no longer listed"),
    concurrency: int('Jobs the instance runs at once (jobs.concurrency)'),
    host: str('Host name of the instance'),
  }),
};

export const Worker: SharedSchema = {
  $id: 'Worker',
  description: 'One slot of a pool, with the job it is running if any',
  ...object({
    id: str('Id of the worker'),
    pool_id: str('Id of its pool'),
    job_name: str('Type of the running job; empty when idle'),
    job_id: str('Id of the running job; empty when idle'),
    start_at: dateTime('When the running job started (absent when idle)'),
    check_in: str("The running job's latest log line"),
    checkin_at: dateTime('When that line was written (absent when idle or before the first line)'),
  }),
};

export const JobQueue: SharedSchema = {
  $id: 'JobQueue',
  description: 'The jobs of one type waiting to run',
  ...object({
    job_type: str('The job type'),
    count: int('Pending jobs that may run now'),
    latency: int('Seconds the oldest of them has been waiting'),
    paused: bool('Whether the queue is paused (its jobs wait until it is resumed)'),
  }),
};

export const ActionRequest: SharedSchema = {
  $id: 'ActionRequest',
  description: 'What to do with a queue',
  ...object(
    {
      action: str('stop: stop every pending job; pause: hold pending jobs; resume: let them run again', {
        enum: ['stop', 'pause', 'resume'],
      }),
    },
    ['action'],
  ),
};

export const ScheduleTask: SharedSchema = {
  $id: 'ScheduleTask',
  description: 'A cron schedule that starts jobs',
  ...object({
    id: int('Id of the schedule'),
    vendor_type: str('Type of the jobs it starts'),
    vendor_id: int('Id of what the schedule belongs to (a policy), 0 for none'),
    cron: str('Cron expression (UTC), with seconds when it has six fields'),
    update_time: dateTime('When the schedule was last defined or changed'),
  }),
};

export const SchedulerStatus: SharedSchema = {
  $id: 'SchedulerStatus',
  description: 'Whether scheduled jobs are held',
  ...object({ paused: bool('true when the queue (for all: every queue) is paused') }),
};

export const jobSchemas = [WorkerPool, Worker, JobQueue, ActionRequest, ScheduleTask, SchedulerStatus];
