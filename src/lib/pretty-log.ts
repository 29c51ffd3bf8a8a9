import { createRequire } from 'node:module';
import type pretty from 'pino-pretty';

type Line = Record<string, unknown>;

/** Fields every line has, or that are shown on their own. */
const shownElsewhere = new Set(['level', 'time', 'msg', 'err', 'pid', 'hostname']);

function field(key: string, value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return `${key}=${typeof value === 'string' && /[\s"=]/.test(value) ? JSON.stringify(value) : text}`;
}

/**
 * One line per record for a person at a terminal: "12:01:02 INFO: message key=value …".
 * The access line reads "GET /v2/ 401 2ms anonymous"; fields the message already says are
 * left out; an error's stack follows its line.
 */
function messageFormat(log: Line, messageKey: string): string {
  const message = String(log[messageKey] ?? '');
  let head: string;
  let used: Set<string>;
  if (message === 'request' && log.method !== undefined && log.status !== undefined) {
    head = `${String(log.method)} ${String(log.url)} ${String(log.status)} ${String(log.ms)}ms ${String(log.user ?? '')}`.trimEnd();
    used = new Set(['method', 'url', 'status', 'ms', 'user']);
  } else {
    head = message;
    used = new Set();
  }
  const rest = Object.entries(log)
    .filter(([key, value]) => !shownElsewhere.has(key) && key !== messageKey && !used.has(key) && value !== undefined)
    .filter(([, value]) => !((typeof value === 'string' || typeof value === 'number') && head.includes(String(value))))
    .map(([key, value]) => field(key, value));
  const err = log.err as { stack?: string; message?: string } | undefined;
  const stack = err ? `\n    ${(err.stack ?? err.message ?? String(err)).split('\n').join('\n    ')}` : '';
  return [head, ...rest].join(' ') + stack;
}

/** A pino destination writing readable lines to stdout (colours when it is a terminal). */
export function prettyLogStream(): ReturnType<typeof pretty> {
  // Loaded here: a Berth whose output is not a terminal never needs it.
  const build = createRequire(import.meta.url)('pino-pretty') as typeof pretty;
  return build({
    translateTime: 'SYS:HH:MM:ss',
    customPrettifiers: { time: (t) => String(t) },
    messageFormat: messageFormat as never,
    hideObject: true,
    sync: true,
  });
}
