import { dateTime, int, object, pathParams, str, type SharedSchema } from '../http/schema-helpers.js';
import { maxColorLength, maxNameLength } from './service.js';

/** The labels API's definitions, in Harbor's names (documentation only: see server/openapi.ts). */

export const Label: SharedSchema = {
  $id: 'Label',
  description:
    'A label that can be put on artifacts: global (scope g, usable in every project) or belonging to one project (scope p). ' +
    'As a request body, id, creation_time and update_time are ignored; scope and project_id cannot change once set.',
  ...object({
    id: int('Id of the label'),
    name: str('Name of the label, unique within its scope (and project)', { maxLength: maxNameLength }),
    description: str('What the label means; may be empty'),
    color: str('Color the portal shows the label in, such as #61717D; may be empty', { maxLength: maxColorLength }),
    scope: str('g for a global label, p for a project label', { enum: ['g', 'p'] }),
    project_id: int('Id of the project a project label belongs to; 0 for a global label'),
    creation_time: dateTime('When the label was created'),
    update_time: dateTime('When the label was last changed'),
  }),
};

export const labelSchemas = [Label];

export const labelIdParams = pathParams({ label_id: int('Id of the label', { minimum: 1 }) });
