import { arrayOf, bool, int, object, pathParams, ref, str, type SharedSchema } from '../http/schema-helpers.js';
import { projectNameOrId } from '../projects/schemas.js';
import { maxRulesPerProject } from './rules.js';

/** The immutability API's definitions, in Harbor's names (documentation only: see server/openapi.ts). */

export const ImmutableSelector: SharedSchema = {
  $id: 'ImmutableSelector',
  description: 'A doublestar pattern (`*` within a path segment, `**` across, `{a,b}`, `?`, `[…]`) that must match, or must not.',
  ...object({
    kind: str('Always doublestar', { enum: ['doublestar'] }),
    decoration: str('matches or excludes for tag selectors; repoMatches, repoExcludes (or matches, excludes) for the repository selector', {
      enum: ['matches', 'excludes', 'repoMatches', 'repoExcludes'],
    }),
    pattern: str('The pattern; a repository pattern sees the name without the project (app/** for project/app/x)'),
    extras: str('Unused; kept as sent'),
  }),
};

export const ImmutableRule: SharedSchema = {
  $id: 'ImmutableRule',
  description:
    `A tag immutability rule: tags whose repository and name the selectors match cannot be moved to another digest or deleted. ` +
    `At most ${maxRulesPerProject} per project. Every selector of a rule must hold for it to apply.`,
  ...object({
    id: int('Id of the rule; in a PUT body, if given, it must be the id in the path'),
    priority: int('Kept as sent (Harbor does not use it either)'),
    disabled: bool('A disabled rule protects nothing'),
    action: str('Always immutable', { enum: ['immutable'] }),
    template: str('Always immutable_template', { enum: ['immutable_template'] }),
    params: { type: 'object', description: 'Unused; answered empty', additionalProperties: true },
    tag_selectors: arrayOf(ref('ImmutableSelector'), 'Which tags (at least one selector)'),
    scope_selectors: object({ repository: arrayOf(ref('ImmutableSelector'), 'Which repositories (at least one selector)') }),
  }),
};

export const immutabilitySchemas = [ImmutableSelector, ImmutableRule];

export const ruleParams = pathParams({
  ...projectNameOrId,
  immutable_rule_id: int('Id of the immutability rule', { minimum: 1 }),
});
