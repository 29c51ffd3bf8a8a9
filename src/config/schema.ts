import { z } from 'zod';

/** The public OSV export (one `<Ecosystem>/all.zip` per ecosystem). */
export const defaultVulnDbUrl = 'https://osv-vulnerabilities.storage.googleapis.com';
/** OSV ecosystems the vulnerability database can import (the export's folder names). */
export const vulnDbEcosystems = [
  'Debian',
  'Ubuntu',
  'Alpine',
  'Red Hat',
  'Rocky Linux',
  'AlmaLinux',
  'npm',
  'PyPI',
  'Go',
  'Maven',
  'crates.io',
] as const;
export const defaultVulnDbEcosystems = ['Debian', 'Ubuntu', 'Alpine', 'npm', 'PyPI', 'Go', 'Maven', 'crates.io'] as const;

/** 32 bytes as 64 hex digits or base64 (standard or url-safe): secrets.encryption_key and previous_keys. */
function isEncryptionKey(text: string): boolean {
  const t = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(t)) return true;
  return /^[A-Za-z0-9+/_-]{43}=?$/.test(t) && Buffer.from(t.replace(/-/g, '+').replace(/_/g, '/'), 'base64').length === 32;
}
const encryptionKeyMessage =
  'must be 32 bytes, as 64 hex digits or base64 (e.g. the output of `berth secrets new-key` or `openssl rand -base64 32`)';

/** One rate limit: requests (or failures) per window, per client address and per user; 0 is no limit. */
function rateLimitRule(d: { per_ip: number; per_user: number; window_seconds: number }) {
  return z
    .object({
      per_ip: z.number().int().min(0).default(d.per_ip),
      per_user: z.number().int().min(0).default(d.per_user),
      window_seconds: z.number().int().min(1).max(86400).default(d.window_seconds),
    })
    .strict()
    .default(d);
}

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
        /**
         * Processes that serve on server.port together (Node's cluster: one primary, this many
         * workers), so that one machine's cores all work. 1 (the default): one process.
         */
        workers: z.number().int().min(1).max(64).default(1),
        /** Seconds to let in-flight requests finish on shutdown. */
        shutdown_grace_seconds: z.number().min(0).default(30),
        /** Seconds a client has to send a request's headers, from its first byte; 0 is no limit. */
        headers_timeout_seconds: z.number().min(0).default(60),
        /**
         * Seconds a connection may stay silent while a request is received or its answer sent
         * (not while Berth works on it); each byte restarts the count. 0 is no limit.
         */
        idle_timeout_seconds: z.number().min(0).default(60),
        /** Seconds a whole request (headers and body) may take to arrive; 0 (the default) is no limit, so large blobs upload at any steady speed. */
        request_timeout_seconds: z.number().min(0).default(0),
        /** Seconds an idle keep-alive connection is kept between requests. */
        keep_alive_timeout_seconds: z.number().min(0).default(65),
        /**
         * Which proxies' X-Forwarded-For / X-Forwarded-Proto to believe (Fastify's trustProxy):
         * false (the default: the peer address is the client), true (any), a hop count, or
         * addresses/CIDRs. Rate limits key anonymous clients by the address this gives.
         */
        trust_proxy: z.union([z.boolean(), z.number().int().min(0), z.string().min(1), z.array(z.string().min(1))]).default(false),
        /** HTTPS served by Berth itself (HTTP/2 and HTTP/1.1 on server.port); see docs/DEPLOYMENT.md. */
        tls: z
          .object({
            /** PEM certificate, followed by its intermediates (the full chain). */
            cert_file: z.string().min(1),
            /** PEM private key of the certificate. */
            key_file: z.string().min(1),
            /** Oldest TLS version accepted. */
            min_version: z.enum(['TLSv1.2', 'TLSv1.3']).default('TLSv1.2'),
            /** Seconds between checks of the files' modification times, besides file-system notifications; 0 is notifications only. */
            reload_check_seconds: z.number().min(0).default(60),
          })
          .strict()
          .optional(),
      })
      .strict()
      .superRefine((server, ctx) => {
        if (server.request_timeout_seconds > 0 && server.headers_timeout_seconds > server.request_timeout_seconds) {
          ctx.addIssue({
            code: 'custom',
            path: ['headers_timeout_seconds'],
            message: 'headers_timeout_seconds must not be longer than request_timeout_seconds',
          });
        }
      })
      .default({
        host: '0.0.0.0',
        port: 8080,
        workers: 1,
        shutdown_grace_seconds: 30,
        headers_timeout_seconds: 60,
        idle_timeout_seconds: 60,
        request_timeout_seconds: 0,
        keep_alive_timeout_seconds: 65,
        trust_proxy: false,
      }),
    database: z
      .object({
        /**
         * sqlite:<path> (relative to the working directory), or postgres://user:password@host:port/database
         * (also postgresql://); empty means <data_dir>/berth.db.
         */
        url: z.string().optional(),
        /** PostgreSQL: connections each instance keeps at most in its pool. */
        max_connections: z.number().int().positive().default(20),
      })
      .strict()
      .default({ max_connections: 20 }),
    storage: z
      .object({
        driver: z.enum(['filesystem', 's3']).default('filesystem'),
        filesystem: z
          .object({
            /** Empty means <data_dir>/storage. */
            root: z.string().optional(),
          })
          .strict()
          .default({}),
        s3: z
          .object({
            /** Required with driver s3. */
            bucket: z.string().min(1).optional(),
            region: z.string().min(1).default('us-east-1'),
            /** For S3-compatible servers (MinIO, Ceph RGW, …); empty means AWS. */
            endpoint: z.string().url().optional(),
            force_path_style: z.boolean().default(false),
            /** Both or neither; neither means the AWS SDK's standard credential chain. */
            access_key: z.string().optional(),
            secret_key: z.string().optional(),
            /** Key prefix for everything Berth writes in the bucket. */
            prefix: z.string().default(''),
            /**
             * How long a connection to S3 may take to open, and a request may wait without a byte
             * moving, before the request fails (and is retried while attempts remain).
             */
            timeout_seconds: z.number().min(0.1).max(3600).default(60),
            redirect: z
              .object({
                /** Answer blob GETs with 307 to a presigned URL of the object. */
                enabled: z.boolean().default(false),
                expiry_seconds: z.number().int().min(1).max(604800).default(1200),
              })
              .strict()
              .default({ enabled: false, expiry_seconds: 1200 }),
          })
          .strict()
          .default({
            region: 'us-east-1',
            force_path_style: false,
            prefix: '',
            timeout_seconds: 60,
            redirect: { enabled: false, expiry_seconds: 1200 },
          }),
      })
      .strict()
      .superRefine((storage, ctx) => {
        if (storage.driver === 's3' && !storage.s3.bucket) {
          ctx.addIssue({ code: 'custom', path: ['s3', 'bucket'], message: 'storage.s3.bucket is required when storage.driver is s3' });
        }
        if (!storage.s3.access_key !== !storage.s3.secret_key) {
          ctx.addIssue({ code: 'custom', path: ['s3', 'secret_key'], message: 'give both access_key and secret_key, or neither' });
        }
      })
      .default({
        driver: 'filesystem',
        filesystem: {},
        s3: {
          region: 'us-east-1',
          force_path_style: false,
          prefix: '',
          timeout_seconds: 60,
          redirect: { enabled: false, expiry_seconds: 1200 },
        },
      }),
    registry: z
      .object({
        max_manifest_bytes: z
          .number()
          .int()
          .positive()
          .default(4 * 1024 * 1024),
        /** Upload sessions idle longer than this are removed. */
        upload_ttl_hours: z.number().positive().default(168),
        /** When the stale-upload purge runs (cron, UTC; 5 fields, or 6 with seconds first). */
        upload_purge_cron: z.string().min(1).default('23 * * * *'),
        /** In-process cache of manifests by digest (content addressed, so always correct). */
        manifest_cache_entries: z.number().int().min(0).default(10000),
      })
      .strict()
      .default({
        max_manifest_bytes: 4 * 1024 * 1024,
        upload_ttl_hours: 168,
        upload_purge_cron: '23 * * * *',
        manifest_cache_entries: 10000,
      }),
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
    jobs: z
      .object({
        /** Jobs this instance runs at once; 0 runs none (an instance that only serves requests). */
        concurrency: z.number().int().min(0).max(256).default(4),
        /** How often an idle instance looks for runnable jobs, due schedules and new events. */
        poll_interval_ms: z.number().int().min(10).max(60_000).default(500),
        /**
         * A running job's lease: an instance that dies (kill -9, lost host) holds its jobs this
         * long at most before another instance, or itself restarted, runs them again.
         */
        lease_seconds: z.number().int().min(2).max(3600).default(30),
      })
      .strict()
      .default({ concurrency: 4, poll_interval_ms: 500, lease_seconds: 30 }),
    gc: z
      .object({
        /**
         * Blobs and repository links younger than this many hours are never collected, nor
         * untagged artifacts pushed more recently (Harbor's time_window). 0 is allowed: the
         * per-blob locks alone then keep acknowledged pushes safe.
         */
        time_window_hours: z.number().min(0).max(8760).default(2),
      })
      .strict()
      .default({ time_window_hours: 2 }),
    scrub: z
      .object({
        /** Blobs an integrity scrub hashes at once, unless a run asks for another number. */
        workers: z.number().int().min(1).max(32).default(4),
      })
      .strict()
      .default({ workers: 4 }),
    preheat: z
      .object({
        /** How often a preheat task asks its provider (Dragonfly) how the preheat stands (Harbor: 10 s). */
        check_interval_seconds: z.number().min(0.05).max(600).default(10),
        /** A preheat still running after this long fails its task (Harbor: 30 min). */
        check_timeout_minutes: z.number().min(1).max(1440).default(30),
      })
      .strict()
      .default({ check_interval_seconds: 10, check_timeout_minutes: 30 }),
    proxy_cache: z
      .object({
        /**
         * Seconds a proxy cache project serves a tag's cached manifest without asking its upstream
         * (a project's metadata proxy_cache_freshness_seconds wins). 0, Harbor's way: a HEAD every pull.
         */
        freshness_seconds: z.number().int().min(0).max(604800).default(0),
        /** Seconds an instance's claim on fetching a blob lasts unless renewed (others take over a dead instance's after it). */
        fetch_lease_seconds: z.number().int().min(5).max(3600).default(30),
      })
      .strict()
      .default({ freshness_seconds: 0, fetch_lease_seconds: 30 }),
    webhooks: z
      .object({
        /** Harbor's notification_enable: off, no event makes a webhook delivery (policies are kept). */
        enabled: z.boolean().default(true),
        /** Seconds one delivery waits for the receiver's answer (Harbor: 3). */
        timeout_seconds: z.number().min(0.1).max(300).default(10),
        /** Delivery attempts before a task fails for good (the first send included). */
        max_attempts: z.number().int().min(1).max(100).default(10),
        /** Seconds before the first retry; each next one waits twice as long, up to retry_max_seconds. */
        retry_base_seconds: z.number().min(0.05).max(3600).default(5),
        retry_max_seconds: z.number().min(0.05).max(86400).default(600),
        /**
         * Deliveries one instance sends at once, in job slots of their own beside jobs.concurrency
         * (none when jobs.concurrency is 0): deliveries that end together share their commits.
         */
        concurrency: z.number().int().min(1).max(64).default(8),
      })
      .strict()
      .default({ enabled: true, timeout_seconds: 10, max_attempts: 10, retry_base_seconds: 5, retry_max_seconds: 600, concurrency: 8 }),
    audit: z
      .object({
        /**
         * Harbor's audit_log_forward_endpoint: host:port of a syslog server (RFC 5424 over TCP)
         * that receives every audit record; empty forwards nothing.
         */
        forward_endpoint: z.string().default(''),
        /** Harbor's skip_audit_log_database: with a forward endpoint, records are not kept in the database once forwarded. */
        skip_database: z.boolean().default(false),
      })
      .strict()
      .superRefine((audit, ctx) => {
        const endpoint = audit.forward_endpoint.trim();
        const match = /^(?:tcp:\/\/)?(?:\[[0-9a-fA-F:.]+\]|[^:/\s[\]]+):(\d{1,5})$/i.exec(endpoint);
        if (endpoint !== '' && (!match || Number(match[1]) < 1 || Number(match[1]) > 65535)) {
          ctx.addIssue({
            code: 'custom',
            path: ['forward_endpoint'],
            message: 'must be host:port of a syslog server (TCP), such as syslog.example.com:514',
          });
        }
        if (audit.skip_database && endpoint === '') {
          ctx.addIssue({
            code: 'custom',
            path: ['skip_database'],
            message: 'needs audit.forward_endpoint: the records would be kept nowhere',
          });
        }
      })
      .default({ forward_endpoint: '', skip_database: false }),
    replication: z
      .object({
        /** Blobs one replication task (REPLICATION_TASK job) copies at once. */
        parallel_blobs: z.number().int().min(1).max(32).default(4),
      })
      .strict()
      .default({ parallel_blobs: 4 }),
    quota: z
      .object({
        /** Storage limit of a new project in bytes (Harbor's storage_per_project); -1 is unlimited. */
        storage_per_project: z
          .number()
          .int()
          .min(-1)
          .max(1024 ** 5)
          .refine((v) => v !== 0, 'use -1 for unlimited, or a positive number of bytes')
          .default(-1),
        /** Audit a warning when a push takes usage to this percentage of the limit; 0 never warns. */
        warning_percent: z.number().int().min(0).max(100).default(85),
      })
      .strict()
      .default({ storage_per_project: -1, warning_percent: 85 }),
    scanning: z
      .object({
        vulndb: z
          .object({
            /** Where `berth vulndb update` and the VULNDB_UPDATE job download `<url>/<Ecosystem>/all.zip` (the public OSV export's layout). */
            url: z.string().url().default(defaultVulnDbUrl),
            /** The OSV ecosystems downloaded (folder names of the export). */
            ecosystems: z
              .array(z.enum(vulnDbEcosystems))
              .min(1)
              .default([...defaultVulnDbEcosystems]),
            /** When the VULNDB_UPDATE job runs by itself (cron, UTC); empty: only when asked. */
            update_cron: z.string().default(''),
          })
          .strict()
          .default({ url: defaultVulnDbUrl, ecosystems: [...defaultVulnDbEcosystems], update_cron: '' }),
        /** Berth's built-in scanner served as a Pluggable Scanner API adapter at /scanner/api/v1. */
        adapter: z
          .object({
            /** Serve the adapter API to other registries (the built-in registration works in-process either way). */
            enabled: z.boolean().default(true),
            /** The key callers send (X-ScannerAdapter-API-Key or Bearer); unset: generated at first start and kept in the database. */
            api_key: z.string().min(16).optional(),
            /** Also accept a system administrator's Basic credentials (Harbor's Basic auth mode). */
            basic_auth: z.boolean().default(true),
          })
          .strict()
          .default({ enabled: true, basic_auth: true }),
        /**
         * Scans (IMAGE_SCAN jobs) one instance runs at once, within jobs.concurrency: a scan-all of
         * thousands of artifacts leaves the other job slots to GC, retention and the rest.
         */
        concurrency: z.number().int().min(0).max(64).default(2),
      })
      .strict()
      .default({
        vulndb: { url: defaultVulnDbUrl, ecosystems: [...defaultVulnDbEcosystems], update_cron: '' },
        adapter: { enabled: true, basic_auth: true },
        concurrency: 2,
      }),
    secrets: z
      .object({
        /**
         * The key that seals stored credentials (registry endpoints, preheat instances): 32 bytes as
         * 64 hex digits or base64. Unset: one is generated at first start and kept in the database.
         */
        encryption_key: z.string().refine(isEncryptionKey, encryptionKeyMessage).optional(),
        /** Keys that only open (secrets sealed before a rotation); a list, or one comma-separated string (env). */
        previous_keys: z.preprocess(
          (v) =>
            typeof v === 'string'
              ? v
                  .split(',')
                  .map((k) => k.trim())
                  .filter((k) => k !== '')
              : v,
          z.array(z.string().refine(isEncryptionKey, encryptionKeyMessage)).default([]),
        ),
      })
      .strict()
      .default({ previous_keys: [] }),
    metrics: z
      .object({
        /** Serve Prometheus metrics (Harbor's metric.enabled). Off: no metric is kept, nothing is served. */
        enabled: z.boolean().default(false),
        /** 0: on the main port, behind credentials; another port: a listener of its own on server.host (Harbor: 9090). */
        port: z.number().int().min(0).max(65535).default(0),
        /** Where the metrics are answered (Harbor's metric.path). */
        path: z
          .string()
          .regex(/^\/[A-Za-z0-9._~\/-]*$/, 'must be a path such as /metrics')
          .refine((p) => !/^\/(v2|api|service|c|scanner)(\/|$)/.test(p), 'must not be under /v2, /api, /service, /c or /scanner')
          .default('/metrics'),
        /** A Bearer token scrapers send (on either port); unset: a system administrator's Basic credentials on the main port, nothing on a port of its own. */
        token: z.string().min(16).optional(),
        /** On the main port, answer without credentials too. */
        public: z.boolean().default(false),
        /** Seconds the database-wide gauges (harbor_project_*, queues, …) are kept between scrapes. */
        cache_seconds: z.number().min(0).max(300).default(5),
      })
      .strict()
      .default({ enabled: false, port: 0, path: '/metrics', public: false, cache_seconds: 5 }),
    log: z
      .object({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
        /** One line per request at info level. */
        access: z.boolean().default(true),
        /** Record every manifest pull in the audit log (batched). */
        audit_pulls: z.boolean().default(true),
        /** auto: readable lines when stdout is a terminal, JSON otherwise; json or pretty to choose. */
        format: z.enum(['auto', 'json', 'pretty']).default('auto'),
      })
      .strict()
      .default({ level: 'info', access: true, audit_pulls: true, format: 'auto' }),
    /**
     * System settings under their Harbor /configurations keys (auth_mode, ldap_url, …): they
     * replace the defaults; a value set with PUT /api/v2.0/configurations wins over them.
     * Checked at startup by settings/file.ts, with the API's rules.
     */
    /** Requests per client address and per user (docs/CONFIGURATION.md, rate_limits); off unless enabled. */
    rate_limits: z
      .object({
        enabled: z.boolean().default(false),
        /** Where counters live: auto is the database on PostgreSQL (shared by every instance), memory on SQLite. */
        store: z.enum(['auto', 'memory', 'database']).default('auto'),
        /** /service/token: tokens issued. */
        token: rateLimitRule({ per_ip: 300, per_user: 300, window_seconds: 60 }),
        /** Failed sign-ins: POST /c/login and refused Basic credentials anywhere. */
        login: rateLimitRule({ per_ip: 30, per_user: 10, window_seconds: 300 }),
        /** /api/v2.0: per user when signed in, per client address always. */
        api: rateLimitRule({ per_ip: 600, per_user: 1200, window_seconds: 60 }),
        /** /v2 (pulls and pushes): not limited unless set, since CI bursts of pulls are legitimate. */
        registry: rateLimitRule({ per_ip: 0, per_user: 0, window_seconds: 60 }),
      })
      .strict()
      .default({
        enabled: false,
        store: 'auto',
        token: { per_ip: 300, per_user: 300, window_seconds: 60 },
        login: { per_ip: 30, per_user: 10, window_seconds: 300 },
        api: { per_ip: 600, per_user: 1200, window_seconds: 60 },
        registry: { per_ip: 0, per_user: 0, window_seconds: 60 },
      }),
    configurations: z.record(z.string(), z.unknown()).default({}),
  })
  .strict()
  .superRefine((config, ctx) => {
    if (config.server.workers > 1 && config.rate_limits.store === 'memory') {
      ctx.addIssue({
        code: 'custom',
        path: ['rate_limits', 'store'],
        message: "a memory store would count each worker's requests apart: use auto or database with server.workers above 1",
      });
    }
  });

export type Config = z.infer<typeof configSchema>;
