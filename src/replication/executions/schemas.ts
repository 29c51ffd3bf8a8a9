import { dateTime, int, object, str, type SharedSchema } from '../../http/schema-helpers.js';

/** Harbor's replication execution definitions (documentation; fields and types from Harbor's swagger). */

export const ReplicationExecution: SharedSchema = {
  $id: 'ReplicationExecution',
  description: 'One run of a replication policy, with the counts of its tasks',
  ...object({
    id: int('Id of the execution'),
    policy_id: int('Id of the policy'),
    status: str('InProgress, Succeed, Failed or Stopped'),
    trigger: str('manual, scheduled or event_based'),
    start_time: dateTime('When it started'),
    end_time: dateTime('When it ended; 0001-01-01T00:00:00.000Z while in progress'),
    status_text: str('Why it failed or was skipped'),
    total: int('Tasks'),
    failed: int('Failed tasks'),
    succeed: int('Succeeded tasks'),
    in_progress: int('Tasks pending or running'),
    stopped: int('Stopped tasks'),
  }),
};

export const ReplicationTask: SharedSchema = {
  $id: 'ReplicationTask',
  description: 'One task of an execution: one artifact copied or deleted',
  ...object({
    id: int('Id of the task'),
    execution_id: int('Id of the execution'),
    status: str('Pending, InProgress, Succeed, Failed or Stopped'),
    job_id: str('Id of the REPLICATION_TASK job (see /jobservice)'),
    operation: str('copy or deletion'),
    resource_type: str('image or artifact'),
    src_resource: str('What is copied, e.g. library/nginx:[1.27,latest]'),
    dst_resource: str('Where to, e.g. mirror/nginx:[1.27,latest]'),
    start_time: dateTime('When it started; 0001-01-01T00:00:00.000Z while pending'),
    end_time: dateTime('When it ended; 0001-01-01T00:00:00.000Z until then'),
  }),
};

export const StartReplicationExecution: SharedSchema = {
  $id: 'StartReplicationExecution',
  description: 'The policy to run now',
  ...object({ policy_id: int('Id of the policy') }, ['policy_id']),
};

export const replicationExecutionSchemas = [ReplicationExecution, ReplicationTask, StartReplicationExecution];
