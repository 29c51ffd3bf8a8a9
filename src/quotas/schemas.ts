import { dateTime, int, object, pathParams, ref, type SharedSchema } from '../http/schema-helpers.js';
import { ResourceList } from '../projects/schemas.js';

/** The quotas API's definitions, in Harbor's names (documentation only: see server/openapi.ts). */

export const QuotaRefObject: SharedSchema = {
  $id: 'QuotaRefObject',
  description: 'What the quota belongs to: the project (id, name and owner_name)',
  type: 'object',
  additionalProperties: {},
};

export const Quota: SharedSchema = {
  $id: 'Quota',
  description: "A project's storage quota: its limit and its usage, in bytes",
  ...object({
    id: int('Id of the quota (the id of its project)'),
    ref: ref('QuotaRefObject'),
    hard: ref('ResourceList'),
    used: ref('ResourceList'),
    creation_time: dateTime('When the quota was created (with its project)'),
    update_time: dateTime('When the limit or the usage last changed'),
  }),
};

export const QuotaUpdateReq: SharedSchema = {
  $id: 'QuotaUpdateReq',
  description: 'New limits, such as {"hard": {"storage": 10737418240}}; -1 is unlimited',
  ...object({ hard: ref('ResourceList') }),
};

export const quotaSchemas = [ResourceList, QuotaRefObject, Quota, QuotaUpdateReq];

export const quotaIdParams = pathParams({ id: int('Id of the quota (the id of its project)') });
