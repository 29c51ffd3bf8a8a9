import { compileDoublestar as compileGlob } from '../../lib/doublestar.js';
import { nextTick } from '../../jobs/scheduler.js';
import { apiError } from '../../lib/errors.js';
import type { ReplicationFilter, TriggerType } from '../types.js';

/**
 * Harbor's ReplicationPolicy body, checked field by field before anything is saved
 * (goharbor/harbor src/controller/replication/model Policy.Validate, src/pkg/reg/model
 * Filter.Validate and the handler's defaults), with Berth's stricter checks where Harbor lets
 * a policy through that could never run: patterns that do not compile, a label filter of one
 * string, an event-based trigger on a pull-based policy, fields of the wrong JSON type.
 */

/** A policy as a body gives it, checked; registry ids are 0 for Berth itself. */
export interface PolicyInput {
  name: string;
  description: string;
  srcRegistryId: number;
  destRegistryId: number;
  destNamespace: string;
  destNamespaceReplaceCount: number;
  trigger: { type: TriggerType; cron: string };
  filters: ReplicationFilter[];
  replicateDeletion: boolean;
  override: boolean;
  enabled: boolean;
  speed: number;
  copyByChunk: boolean;
  singleActiveReplication: boolean;
}

export const maxPolicyNameLength = 255;
const maxDescriptionLength = 1024;
const maxFilters = 20;
const triggerTypes: TriggerType[] = ['manual', 'scheduled', 'event_based'];
const namespaceComponent = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/;

const bad = (message: string) => apiError('BAD_REQUEST', message);
const show = (value: unknown) => (value === undefined ? 'nothing' : JSON.stringify(value));
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A doublestar pattern (Harbor's filters use github.com/bmatcuk/doublestar), compiled and
 * cached by lib/doublestar; throws when it does not compile: an unclosed bracket or brace, a
 * "}" that closes nothing, an empty class or a trailing escape. The empty pattern matches everything.
 */
export function compileDoublestar(pattern: string): (value: string) => boolean {
  if (pattern === '') return () => true;
  return compileGlob(pattern);
}

function bool(body: Record<string, unknown>, field: string, fallback: boolean): boolean {
  const v = body[field];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'boolean') throw bad(`${field} must be true or false, not ${show(v)}`);
  return v;
}

function integer(body: Record<string, unknown>, field: string): number | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw bad(`${field} must be an integer, not ${show(v)}`);
  return v;
}

/** `{"id": n}` or null/absent (Berth itself); the id's existence is checked by the service. */
function registryId(body: Record<string, unknown>, field: string): number {
  const v = body[field];
  if (v === undefined || v === null) return 0;
  if (!isObject(v)) throw bad(`${field} must be a registry object like {"id": 1}, or null for this Berth`);
  const id = v.id ?? 0;
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0)
    throw bad(`${field}.id must be a registry id (0 or absent: this Berth), not ${show(id)}`);
  return id;
}

/** Harbor's ReplicationFilter: name/tag/resource take a string, label a list of strings; decoration only on tag and label. */
export function parseFilter(raw: unknown, index: number): ReplicationFilter {
  const at = `filters[${index}]`;
  if (!isObject(raw)) throw bad(`${at} must be an object like {"type":"name","value":"library/**"}`);
  const { type, value } = raw;
  const decoration = raw.decoration ?? '';
  if (typeof type !== 'string' || !['name', 'tag', 'label', 'resource'].includes(type)) {
    throw bad(`${at}: invalid filter type ${show(type)}; it must be name, tag, label or resource`);
  }
  if (typeof decoration !== 'string') throw bad(`${at}.decoration must be a string, not ${show(decoration)}`);
  if (decoration !== '' && decoration !== 'matches' && decoration !== 'excludes') {
    throw bad(`${at}: invalid filter decoration ${show(decoration)}; it must be matches or excludes`);
  }
  if ((type === 'name' || type === 'resource') && decoration !== '') {
    throw bad(`${at}: only tag and label filter support decoration`);
  }
  if (type === 'label') {
    if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
      throw bad(`${at}: the type of label filter value isn't string slice (give a list of label names, e.g. ["release"])`);
    }
    const labels = value.map((v: string) => v.trim());
    if (labels.some((l) => l === '')) throw bad(`${at}: a label name is empty`);
    return { type, value: labels, ...(decoration !== '' && { decoration: decoration as 'matches' | 'excludes' }) };
  }
  if (typeof value !== 'string')
    throw bad(`${at}: the type of filter value isn't string (${type} filters take a string, not ${show(value)})`);
  if (type === 'resource') {
    if (value !== 'image' && value !== 'artifact')
      throw bad(`${at}: invalid resource filter: ${show(value)}; it must be image or artifact`);
    return { type, value };
  }
  try {
    compileDoublestar(value);
  } catch (err) {
    throw bad(`${at}: the ${type} pattern ${show(value)} is not a valid doublestar pattern: ${(err as Error).message}`);
  }
  return { type: type as 'name' | 'tag', value, ...(decoration !== '' && { decoration: decoration as 'matches' | 'excludes' }) };
}

/**
 * Harbor's replication cron: six fields, seconds first and 0, minutes not "*" (Harbor refuses a
 * policy that would start every minute), evaluated in UTC. Returns the trimmed expression.
 */
export function checkCron(cron: string): string {
  const text = cron.trim();
  if (text === '') throw bad('the cron string cannot be empty when the trigger type is scheduled');
  const parts = text.split(/\s+/);
  if (parts.length !== 6) {
    throw bad(
      `invalid cron string for scheduled trigger: "${cron}" (six fields are needed: seconds minutes hours day-of-month month day-of-week)`,
    );
  }
  try {
    nextTick(parts.join(' '), new Date());
  } catch (err) {
    throw bad(`invalid cron string for scheduled trigger: "${cron}" (${(err as Error).message})`);
  }
  if (parts[0] !== '0') throw bad('the 1st field (indicating Seconds of time) of the cron setting must be 0');
  if (parts[1] === '*') throw bad('* is not allowed for the Minutes field of the cron setting of replication policy');
  return parts.join(' ');
}

function parseTrigger(raw: unknown): { type: TriggerType; cron: string } {
  if (raw === undefined || raw === null) return { type: 'manual', cron: '' };
  if (!isObject(raw)) throw bad('trigger must be an object like {"type":"manual"}');
  const type = raw.type ?? 'manual';
  if (typeof type !== 'string' || !triggerTypes.includes(type as TriggerType)) {
    throw bad(`invalid trigger type ${show(type)}; it must be manual, scheduled or event_based`);
  }
  const settings = raw.trigger_settings;
  if (settings !== undefined && settings !== null && !isObject(settings))
    throw bad('trigger.trigger_settings must be an object like {"cron":"0 0 * * * *"}');
  const cron = isObject(settings) ? (settings.cron ?? '') : '';
  if (typeof cron !== 'string') throw bad(`trigger.trigger_settings.cron must be a string, not ${show(cron)}`);
  if (type === 'scheduled') return { type, cron: checkCron(cron) };
  return { type: type as TriggerType, cron: '' };
}

function parseNamespace(raw: unknown): string {
  if (raw === undefined || raw === null) return '';
  if (typeof raw !== 'string') throw bad(`dest_namespace must be a string, not ${show(raw)}`);
  if (raw === '') return '';
  const problem = raw.length > 255 || raw.split('/').some((part) => !namespaceComponent.test(part));
  if (problem) {
    throw bad(
      `invalid destination namespace: ${raw} (lower-case letters, digits and single separators . _ __ -, path components separated by /, at most 255 characters)`,
    );
  }
  return raw;
}

/** Checks a ReplicationPolicy body (POST or PUT). Throws a 400 naming the first field in error. */
export function parsePolicy(body: unknown): PolicyInput {
  if (!isObject(body)) throw bad('request body must be a ReplicationPolicy JSON object');
  const name = body.name;
  if (name === undefined || name === null || name === '') throw bad('empty name');
  if (typeof name !== 'string') throw bad(`name must be a string, not ${show(name)}`);
  if (name.trim() !== name) throw bad(`name ${show(name)} must not begin or end with spaces`);
  if (name.length > maxPolicyNameLength) throw bad(`name is longer than ${maxPolicyNameLength} characters`);
  const description = body.description ?? '';
  if (typeof description !== 'string') throw bad(`description must be a string, not ${show(description)}`);
  if (description.length > maxDescriptionLength) throw bad(`description is longer than ${maxDescriptionLength} characters`);

  const srcRegistryId = registryId(body, 'src_registry');
  const destRegistryId = registryId(body, 'dest_registry');
  if ((srcRegistryId !== 0 && destRegistryId !== 0) || (srcRegistryId === 0 && destRegistryId === 0)) {
    throw bad(
      'either src_registry or dest_registry should be empty and the other one shouldn\'t be empty (one side is this Berth: null or {"id":0}; the other a registry endpoint from /registries)',
    );
  }

  const filtersRaw = body.filters ?? [];
  if (!Array.isArray(filtersRaw)) throw bad(`filters must be a list of filters, not ${show(filtersRaw)}`);
  if (filtersRaw.length > maxFilters) throw bad(`at most ${maxFilters} filters`);
  const filters = filtersRaw.map((f, i) => parseFilter(f, i));

  const destNamespace = parseNamespace(body.dest_namespace);
  // Harbor's handler: absent → -1 (the legacy mode, flatten all).
  const replaceCount = integer(body, 'dest_namespace_replace_count') ?? -1;
  if (replaceCount < -1 || replaceCount > 127) {
    throw bad(
      `dest_namespace_replace_count must be -1 (flatten all), 0 (keep the path) or the number of path components to replace (1…127), not ${replaceCount}`,
    );
  }

  const trigger = parseTrigger(body.trigger);
  if (trigger.type === 'event_based' && srcRegistryId !== 0) {
    throw bad(
      'an event_based trigger needs this Berth as the source: events of a remote registry do not reach it (use manual or scheduled for a pull-based policy)',
    );
  }

  // Harbor keeps `deletion` (deprecated) beside `replicate_deletion`; either one sets it.
  const replicateDeletion = bool(body, 'replicate_deletion', false) || bool(body, 'deletion', false);
  const singleActiveReplication = bool(body, 'single_active_replication', false);
  if (singleActiveReplication && trigger.type === 'event_based')
    throw bad('single active replication is not allowed for event_based triggers');

  // Harbor's handler turns a negative speed into 0 (unlimited).
  const speed = integer(body, 'speed') ?? 0;
  if (speed > 2_147_483_647) throw bad(`speed must be at most 2147483647 KB/s, not ${speed}`);

  return {
    name,
    description,
    srcRegistryId,
    destRegistryId,
    destNamespace,
    destNamespaceReplaceCount: replaceCount,
    trigger,
    filters,
    replicateDeletion,
    override: bool(body, 'override', false),
    enabled: bool(body, 'enabled', false),
    speed: Math.max(0, speed),
    copyByChunk: bool(body, 'copy_by_chunk', false),
    singleActiveReplication,
  };
}
