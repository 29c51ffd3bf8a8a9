import type { Kysely } from 'kysely';
import type { DialectHelpers } from '../dialect.js';
import * as m001 from './001_registry.js';
import * as m002 from './002_identity.js';
import * as m003 from './003_artifacts.js';
import * as m004 from './004_settings.js';
import * as m005 from './005_jobs.js';
import * as m006 from './006_quotas.js';
import * as m007 from './007_gc.js';
import * as m008 from './008_scrub.js';
import * as m009 from './009_login_attempts.js';
import * as m010 from './010_immutability.js';
import * as m011 from './011_retention.js';
import * as m012 from './012_vulndb.js';
import * as m013 from './013_scanners.js';
import * as m014 from './014_scans.js';
import * as m015 from './015_cve_policy.js';
import * as m016 from './016_registries.js';
import * as m017 from './017_replication.js';
import * as m018 from './018_proxy_cache.js';
import * as m019 from './019_preheat.js';
import * as m020 from './020_webhooks.js';
import * as m021 from './021_audit_ops.js';
import * as m022 from './022_signatures.js';
import * as m023 from './023_identity_providers.js';
import * as m024 from './024_rate_limits.js';
import * as m025 from './025_counts.js';
import * as m026 from './026_job_lost_attempts.js';

export interface BerthMigration {
  up(db: Kysely<any>, dialect: DialectHelpers): Promise<void>;
}

/** Every migration, in order. Names never change once released. */
export const migrations: Record<string, BerthMigration> = {
  '001_registry': m001,
  '002_identity': m002,
  '003_artifacts': m003,
  '004_settings': m004,
  '005_jobs': m005,
  '006_quotas': m006,
  '007_gc': m007,
  '008_scrub': m008,
  '009_login_attempts': m009,
  '010_immutability': m010,
  '011_retention': m011,
  '012_vulndb': m012,
  '013_scanners': m013,
  '014_scans': m014,
  '015_cve_policy': m015,
  '016_registries': m016,
  '017_replication': m017,
  '018_proxy_cache': m018,
  '019_preheat': m019,
  '020_webhooks': m020,
  '021_audit_ops': m021,
  '022_signatures': m022,
  '023_identity_providers': m023,
  '024_rate_limits': m024,
  '025_counts': m025,
  '026_job_lost_attempts': m026,
};
