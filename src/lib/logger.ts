import pino, { type Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { prettyLogStream } from './pretty-log.js';

/** The server's logger: readable lines at a terminal (or log.format pretty), JSON otherwise. */
export function createLogger(config: Config, stdout: { isTTY?: boolean } = process.stdout): Logger {
  const options = { level: config.log.level, base: undefined };
  if (config.log.format === 'pretty' || (config.log.format === 'auto' && stdout.isTTY === true)) return pino(options, prettyLogStream());
  return pino(options, pino.destination({ sync: false }));
}
