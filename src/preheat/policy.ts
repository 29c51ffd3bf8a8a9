import { nextTick } from '../jobs/scheduler.js';
import { apiError } from '../lib/errors.js';
import { compileDoublestar, labelList } from './filters.js';
import type { PolicyRow } from './store.js';
import { filterTypes, type Filter, type Policy, type Trigger, type TriggerType } from './types.js';

/** Harbor's name rule for instances and policies (handler/preheat.go nameRegex). */
export const namePattern = /^[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*$/;
const triggerTypes: TriggerType[] = ['manual', 'scheduled', 'event_based'];

const bad = (message: string) => apiError('BAD_REQUEST', message);
const show = (v: unknown) => (v === undefined ? 'nothing' : JSON.stringify(v));
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** What a create or update carries, checked; provider existence is the service's. */
export interface PolicyInput {
  name: string;
  description: string;
  providerId: number;
  filters: Filter[];
  trigger: Trigger;
  enabled: boolean;
  extraAttrs: Record<string, unknown> | null;
}

/** Harbor sends filters, trigger and extra_attrs as JSON text; Berth also takes them as JSON values. */
function jsonField(body: Record<string, unknown>, field: string): unknown {
  const raw = body[field];
  if (typeof raw !== 'string') return raw;
  if (raw.trim() === '') return undefined;
  try {
    return JSON.parse(raw);
  } catch {
    throw bad(`${field} must be JSON text, not ${show(raw)}`);
  }
}

export function parseName(value: unknown, what: string): string {
  if (typeof value !== 'string' || value === '') throw bad(`${what} name is required`);
  if (value.length > 255) throw bad(`${what} name must be at most 255 characters`);
  if (!namePattern.test(value))
    throw bad(
      `name ${value} is invalid: letters and digits, separated by single ".", "_" or "-" (Harbor's ^[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*$)`,
    );
  return value;
}

export function parseFilters(raw: unknown): Filter[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw bad(`filters must be a JSON list like [{"type":"repository","value":"**"}], not ${show(raw)}`);
  const seen = new Set<string>();
  return raw.map((f, i): Filter => {
    const at = `filters[${i}]`;
    if (!isObject(f)) throw bad(`${at} must be an object {"type", "value"}`);
    const type = f.type;
    if (typeof type !== 'string' || !(filterTypes as readonly string[]).includes(type))
      throw bad(`${at}.type must be one of ${filterTypes.join(', ')}, not ${show(type)}`);
    if (seen.has(type)) throw bad(`${at}: there is already a ${type} filter`);
    seen.add(type);
    const value = f.value;
    switch (type) {
      case 'repository':
      case 'tag': {
        if (typeof value !== 'string')
          throw bad(`${at}.value must be a doublestar pattern (a string) for the ${type} filter, not ${show(value)}`);
        try {
          compileDoublestar(value);
        } catch (err) {
          throw bad(`${at}.value "${value}" is not a valid doublestar pattern: ${(err as Error).message}`);
        }
        return { type, value };
      }
      case 'label': {
        if (typeof value !== 'string' || labelList(value).length === 0)
          throw bad(`${at}.value must name one or more labels, separated by commas, not ${show(value)}`);
        return { type, value };
      }
      case 'signature':
        if (typeof value !== 'boolean') throw bad(`${at}.value must be true or false for the signature filter, not ${show(value)}`);
        return { type, value };
      default: {
        if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 5)
          throw bad(
            `${at}.value must be a severity code for the vulnerability filter (0 None, 1 Negligible, 2 Low, 3 Medium, 4 High, 5 Critical: artifacts below it are preheated), not ${show(value)}`,
          );
        return { type: 'vulnerability', value };
      }
    }
  });
}

export function parseTrigger(raw: unknown): Trigger {
  if (raw === undefined || raw === null) throw bad('trigger is required, e.g. {"type":"manual"}');
  if (!isObject(raw)) throw bad(`trigger must be an object like {"type":"manual"}, not ${show(raw)}`);
  const type = raw.type;
  if (typeof type !== 'string' || !triggerTypes.includes(type as TriggerType))
    throw bad(`trigger.type must be one of ${triggerTypes.join(', ')}, not ${show(type)}`);
  const settings = raw.trigger_setting;
  if (settings !== undefined && settings !== null && !isObject(settings))
    throw bad('trigger.trigger_setting must be an object {"cron": "…"}');
  const cron = isObject(settings) ? settings.cron : undefined;
  if (cron !== undefined && typeof cron !== 'string') throw bad(`trigger.trigger_setting.cron must be a string, not ${show(cron)}`);
  if (type !== 'scheduled') return { type: type as TriggerType, cron: '' };
  if (!cron || cron.trim() === '') throw bad('trigger.trigger_setting.cron is required for a scheduled trigger, e.g. "0 0 2 * * *"');
  try {
    if (nextTick(cron.trim(), new Date()) === null) throw new Error('it never fires');
  } catch (err) {
    throw bad(`invalid cron string for scheduled preheat: ${cron}, error: ${(err as Error).message}`);
  }
  return { type: 'scheduled', cron: cron.trim() };
}

/** Checks a create or update body (Harbor's PreheatPolicy); 400 naming the field on anything wrong. */
export function parsePolicy(body: unknown): PolicyInput {
  if (!isObject(body)) throw bad('request body must be a JSON object (a preheat policy)');
  const name = parseName(body.name, 'policy');
  const description = body.description ?? '';
  if (typeof description !== 'string') throw bad('description must be a string');
  const providerId = body.provider_id;
  if (typeof providerId !== 'number' || !Number.isSafeInteger(providerId) || providerId < 1)
    throw bad(`provider_id must be the id of a preheat instance (a positive integer), not ${show(providerId)}`);
  const enabled = body.enabled ?? true;
  if (typeof enabled !== 'boolean') throw bad(`enabled must be true or false, not ${show(enabled)}`);
  const filters = parseFilters(jsonField(body, 'filters'));
  const trigger = parseTrigger(jsonField(body, 'trigger'));
  const attrs = jsonField(body, 'extra_attrs');
  if (attrs !== undefined && attrs !== null && !isObject(attrs)) throw bad(`extra_attrs must be a JSON object, not ${show(attrs)}`);
  return {
    name,
    description,
    providerId,
    filters,
    trigger,
    enabled,
    extraAttrs: isObject(attrs) && Object.keys(attrs).length > 0 ? attrs : null,
  };
}

export function triggerJson(trigger: Trigger): string {
  return JSON.stringify({ type: trigger.type, trigger_setting: { cron: trigger.cron } });
}

export function toPolicy(row: PolicyRow): Policy {
  const trigger = JSON.parse(row.trigger) as { type: TriggerType; trigger_setting?: { cron?: string } };
  return {
    id: Number(row.id),
    projectId: Number(row.project_id),
    name: row.name,
    description: row.description,
    providerId: Number(row.provider_id),
    filters: JSON.parse(row.filters) as Filter[],
    trigger: { type: trigger.type, cron: trigger.trigger_setting?.cron ?? '' },
    enabled: row.enabled === 1,
    extraAttrs: row.extra_attrs === null ? null : (JSON.parse(row.extra_attrs) as Record<string, unknown>),
    creationTime: row.created_at,
    updateTime: row.updated_at,
  };
}
