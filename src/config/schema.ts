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
    auth: z
      .object({
        /** Password for `admin` on first start; otherwise one is generated and printed once. */
        admin_password: z.string().optional(),
        /** PEM (PKCS#8 RSA) key that signs registry tokens; empty means the key kept in the database (shared by every instance). */
        token_key_file: z.string().optional(),
        token_lifetime_minutes: z.number().int().positive().default(30),
        session_timeout_minutes: z.number().int().positive().default(60),
        self_registration: z.boolean().default(false),
        robot_name_prefix: z.string().min(1).default('robot$'),
        /** Default robot lifetime in days when a request gives none; -1 never expires. */
        robot_token_duration_days: z.number().int().min(-1).default(30),
        /** Who may create projects: everyone (signed in) or adminonly. */
        project_creation_restriction: z.enum(['everyone', 'adminonly']).default('everyone'),
      })
      .strict()
      .default({
        token_lifetime_minutes: 30,
        session_timeout_minutes: 60,
        self_registration: false,
        robot_name_prefix: 'robot$',
        robot_token_duration_days: 30,
        project_creation_restriction: 'everyone',
      }),
    log: z
      .object({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
        /** One line per request at info level. */
        access: z.boolean().default(true),
        /** Record every manifest pull in the audit log (batched). */
        audit_pulls: z.boolean().default(true),
      })
      .strict()
      .default({ level: 'info', access: true, audit_pulls: true }),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;
