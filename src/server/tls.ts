import { watch, type FSWatcher } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import type { Http2SecureServer } from 'node:http2';
import path from 'node:path';
import { createSecureContext, type SecureVersion } from 'node:tls';
import type { Logger } from 'pino';
import { ConfigError } from '../config/load.js';
import type { Config } from '../config/schema.js';

export type TlsConfig = NonNullable<Config['server']['tls']>;

/** A certificate and its key as read from disk and checked. */
export interface TlsPair {
  cert: Buffer;
  key: Buffer;
  /** The leaf certificate's serial number and expiry, for the log. */
  serial: string;
  validTo: string;
}

/** The files do not hold a usable certificate and key: the message says which and why (`berth serve` prints it and stops). */
export class TlsFilesError extends ConfigError {
  override name = 'TlsFilesError';
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Reads server.tls's files and checks them the way a client would meet them: the certificate
 * parses, the key parses and belongs to it, and Node builds a TLS context from the pair.
 */
export async function readTlsPair(tls: TlsConfig): Promise<TlsPair> {
  const certFile = path.resolve(tls.cert_file);
  const keyFile = path.resolve(tls.key_file);
  const read = async (file: string, what: string) => {
    try {
      return await readFile(file);
    } catch (err) {
      throw new TlsFilesError(`server.tls.${what}: cannot read ${file} (${describe(err)})`);
    }
  };
  const [cert, key] = await Promise.all([read(certFile, 'cert_file'), read(keyFile, 'key_file')]);
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(cert);
  } catch (err) {
    throw new TlsFilesError(`server.tls.cert_file: ${certFile} is not a PEM certificate (${describe(err)})`);
  }
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch (err) {
    throw new TlsFilesError(`server.tls.key_file: ${keyFile} is not an unencrypted PEM private key (${describe(err)})`);
  }
  if (!leaf.checkPrivateKey(privateKey)) {
    throw new TlsFilesError(`server.tls: the key in ${keyFile} does not belong to the certificate in ${certFile}`);
  }
  try {
    createSecureContext({ cert, key, minVersion: tls.min_version as SecureVersion });
  } catch (err) {
    throw new TlsFilesError(`server.tls: ${certFile} and ${keyFile} are not usable for TLS (${describe(err)})`);
  }
  return { cert, key, serial: leaf.serialNumber, validTo: leaf.validTo };
}

/**
 * Fastify's options for HTTPS on server.port: HTTP/2 for clients that offer it in ALPN,
 * HTTP/1.1 for the others, on the same port.
 */
export function tlsServerOptions(
  tls: TlsConfig,
  pair: TlsPair,
): { http2: true; https: { allowHTTP1: true; cert: Buffer; key: Buffer; minVersion: SecureVersion } } {
  return { http2: true, https: { allowHTTP1: true, cert: pair.cert, key: pair.key, minVersion: tls.min_version as SecureVersion } };
}

export interface TlsReloader {
  /** Reads the files now and, when they changed and are good, serves them from the next handshake on. */
  reload(): Promise<boolean>;
  close(): void;
}

/**
 * Serves a new certificate without a restart: the files (their folders, so that a file
 * replaced by rename is seen) are watched, with a periodic look at their modification times
 * for file systems that send no notifications. Changes are taken together after a short
 * pause (a certificate and its key are rarely written at the same instant). A new pair that
 * fails the checks is logged and the one in use is kept.
 */
export function watchTlsFiles(
  server: Pick<Http2SecureServer, 'setSecureContext'>,
  tls: TlsConfig,
  current: TlsPair,
  logger: Pick<Logger, 'info' | 'error'>,
  options: { debounceMs?: number } = {},
): TlsReloader {
  const files = [path.resolve(tls.cert_file), path.resolve(tls.key_file)];
  const debounceMs = options.debounceMs ?? 250;
  let served = current;
  let lastFailure = '';
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<boolean> | undefined;
  let mtimes = '';
  let closed = false;

  const reload = async (): Promise<boolean> => {
    let pair: TlsPair;
    try {
      pair = await readTlsPair(tls);
    } catch (err) {
      const message = describe(err);
      // One line per distinct problem: a half-written pair is usually complete a moment later.
      if (message !== lastFailure) logger.error({ err }, `TLS certificate not reloaded, the one in use is kept: ${message}`);
      lastFailure = message;
      return false;
    }
    lastFailure = '';
    if (pair.cert.equals(served.cert) && pair.key.equals(served.key)) return false;
    server.setSecureContext({ cert: pair.cert, key: pair.key, minVersion: tls.min_version as SecureVersion });
    served = pair;
    logger.info({ serial: pair.serial, validTo: pair.validTo }, 'TLS certificate reloaded');
    return true;
  };
  const run = () => {
    if (closed) return;
    // One reload at a time; a change seen during one is looked at again after it.
    running = (running ?? Promise.resolve(false)).then(reload, reload);
  };
  const schedule = () => {
    if (closed) return;
    clearTimeout(timer);
    timer = setTimeout(run, debounceMs);
    timer.unref();
  };

  const watchers: FSWatcher[] = [];
  for (const dir of new Set(files.map((f) => path.dirname(f)))) {
    try {
      const names = new Set(files.filter((f) => path.dirname(f) === dir).map((f) => path.basename(f)));
      const watcher = watch(dir, { persistent: false }, (_event, name) => {
        if (name === null || names.has(name.toString())) schedule();
      });
      watcher.on('error', () => watcher.close());
      watchers.push(watcher);
    } catch {
      // No notifications here: the periodic check below still sees changes.
    }
  }
  const readMtimes = async () => {
    const stats = await Promise.all(
      files.map((f) =>
        stat(f).then(
          (s) => `${s.mtimeMs}:${s.size}:${s.ino}`,
          () => 'missing',
        ),
      ),
    );
    return stats.join('|');
  };
  void readMtimes().then((m) => (mtimes = m));
  const poll =
    tls.reload_check_seconds > 0
      ? setInterval(() => {
          void readMtimes().then((m) => {
            if (m !== mtimes) {
              mtimes = m;
              schedule();
            }
          });
        }, tls.reload_check_seconds * 1000)
      : undefined;
  poll?.unref();

  return {
    reload: async () => {
      run();
      return running!;
    },
    close() {
      closed = true;
      clearTimeout(timer);
      clearInterval(poll);
      for (const w of watchers) w.close();
    },
  };
}
