import { z } from 'zod';

/** Every configuration key Berth reads. docs/CONFIGURATION.md documents each one. */
export const configSchema = z
  .object({
    data_dir: z.string().min(1).default('./data'),
    server: z
      .object({
        host: z.string().min(1).default('0.0.0.0'),
        port: z.number().int().min(0).max(65535).default(8080),
        /** Base URL clients reach Berth at; used for absolute links. Optional. */
        external_url: z.string().url().optional(),
        /** Seconds to let in-flight requests finish on shutdown. */
        shutdown_grace_seconds: z.number().min(0).default(30),
      })
      .strict()
      .default({ host: '0.0.0.0', port: 8080, shutdown_grace_seconds: 30 }),
    database: z
      .object({
        /** sqlite:<path> (relative to the working directory); empty means <data_dir>/berth.db. */
        url: z.string().optional(),
      })
      .strict()
      .default({}),
    storage: z
      .object({
        driver: z.enum(['filesystem']).default('filesystem'),
        filesystem: z
          .object({
            /** Empty means <data_dir>/storage. */
            root: z.string().optional(),
          })
          .strict()
          .default({}),
      })
      .strict()
      .default({ driver: 'filesystem', filesystem: {} }),
    registry: z
      .object({
        max_manifest_bytes: z.number().int().positive().default(4 * 1024 * 1024),
        /** Upload sessions idle longer than this are removed. */
        upload_ttl_hours: z.number().positive().default(168),
        /** In-process cache of manifests by digest (content addressed, so always correct). */
        manifest_cache_entries: z.number().int().min(0).default(10000),
      })
      .strict()
      .default({ max_manifest_bytes: 4 * 1024 * 1024, upload_ttl_hours: 168, manifest_cache_entries: 10000 }),
    log: z
      .object({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
        /** One line per request at info level. */
        access: z.boolean().default(true),
      })
      .strict()
      .default({ level: 'info', access: true }),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;
