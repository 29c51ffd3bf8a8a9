import { Gauge, type Registry } from 'prom-client';
import type { Db } from '../db/index.js';
import type { JobQueue } from '../jobs/queue.js';

/** What the database says about the whole deployment: the same whichever instance is asked. */
export interface Snapshot {
  projects: Array<{ id: number; name: string; public: boolean; limit: number }>;
  usage: Map<number, number>;
  members: Map<number, number>;
  repositories: Map<number, { count: number; pulls: number }>;
  artifacts: Array<{ projectId: number; type: string; count: number }>;
  queues: Array<{ type: string; size: number; latency: number }>;
  jobs: Array<{ type: string; status: string; count: number }>;
  running: Array<{ type: string; pool: string; count: number }>;
  schedules: number;
  gcRuns: Array<{ status: string; count: number }>;
  gcSwept: { blobs: number; bytes: number };
  replicationTasks: Array<{ status: string; count: number }>;
  scanReports: Array<{ status: string; count: number }>;
}

export interface HealthReport {
  status: string;
  components: Array<{ name: string; status: string }>;
}

export interface DatabaseGaugeDeps {
  db: Db;
  queue: JobQueue;
  version: string;
  /** Harbor's system info labels, from the shared settings. */
  systemInfo: () => { authMode: string; selfRegistration: boolean };
  /** The /health report (database, storage, core). */
  health: () => Promise<HealthReport>;
  /** Seconds a snapshot is kept; concurrent scrapes share one. */
  cacheSeconds: number;
}

const n = (v: unknown): number => Number(v ?? 0);

/** A handful of grouped queries over the whole database: never one per project. */
export async function readSnapshot(db: Db, queue: JobQueue): Promise<Snapshot> {
  const [projects, usage, members, repositories, artifacts, queues, jobs, running, schedules, gcRuns, gcResults, replication, scans] =
    await Promise.all([
      db.selectFrom('projects').select(['id', 'name', 'public', 'storage_limit']).orderBy('id').execute(),
      db
        .selectFrom('quota_usage')
        .select((eb) => ['project_id', eb.fn.sum<number>('used').as('used')])
        .groupBy('project_id')
        .execute(),
      db
        .selectFrom('project_members')
        .select((eb) => ['project_id', eb.fn.countAll<number>().as('count')])
        .where('entity_type', '=', 'u')
        .groupBy('project_id')
        .execute(),
      db
        .selectFrom('repositories')
        .select((eb) => ['project_id', eb.fn.countAll<number>().as('count'), eb.fn.sum<number>('pull_count').as('pulls')])
        .groupBy('project_id')
        .execute(),
      db
        .selectFrom('artifacts as a')
        .innerJoin('repositories as r', 'r.id', 'a.repository_id')
        .select((eb) => ['r.project_id', 'a.type', eb.fn.countAll<number>().as('count')])
        .groupBy(['r.project_id', 'a.type'])
        .execute(),
      queue.queues(),
      db
        .selectFrom('jobs')
        .select((eb) => ['type', 'status', eb.fn.countAll<number>().as('count')])
        .where('status', 'in', ['pending', 'running'])
        .groupBy(['type', 'status'])
        .execute(),
      db
        .selectFrom('jobs')
        .select((eb) => ['type', 'locked_by', eb.fn.countAll<number>().as('count')])
        .where('status', '=', 'running')
        .groupBy(['type', 'locked_by'])
        .execute(),
      db
        .selectFrom('schedules')
        .select((eb) => eb.fn.countAll<number>().as('count'))
        .executeTakeFirst(),
      db
        .selectFrom('gc_runs')
        .select((eb) => ['status', eb.fn.countAll<number>().as('count')])
        .groupBy('status')
        .execute(),
      db.selectFrom('gc_runs').select(['parameters', 'results']).where('results', 'is not', null).execute(),
      db
        .selectFrom('replication_tasks')
        .select((eb) => ['status', eb.fn.countAll<number>().as('count')])
        .groupBy('status')
        .execute(),
      db
        .selectFrom('scan_reports')
        .select((eb) => ['status', eb.fn.countAll<number>().as('count')])
        .groupBy('status')
        .execute(),
    ]);
  const gcSwept = { blobs: 0, bytes: 0 };
  for (const run of gcResults) {
    try {
      if ((JSON.parse(run.parameters) as { dry_run?: boolean }).dry_run) continue;
      const results = JSON.parse(run.results ?? '{}') as { purged_blobs?: number; freed_space?: number };
      gcSwept.blobs += n(results.purged_blobs);
      gcSwept.bytes += n(results.freed_space);
    } catch {
      // A row another version wrote in another shape counts for nothing.
    }
  }
  return {
    projects: projects.map((p) => ({ id: n(p.id), name: p.name, public: n(p.public) === 1, limit: n(p.storage_limit) })),
    usage: new Map(usage.map((u) => [n(u.project_id), n(u.used)])),
    members: new Map(members.map((m) => [n(m.project_id), n(m.count)])),
    repositories: new Map(repositories.map((r) => [n(r.project_id), { count: n(r.count), pulls: n(r.pulls) }])),
    artifacts: artifacts.map((a) => ({ projectId: n(a.project_id), type: a.type, count: n(a.count) })),
    queues: queues.map((q) => ({ type: q.jobType, size: q.count, latency: q.latencySeconds })),
    jobs: jobs.map((j) => ({ type: j.type, status: j.status, count: n(j.count) })),
    running: running.map((r) => ({ type: r.type, pool: r.locked_by ?? '', count: n(r.count) })),
    schedules: n(schedules?.count),
    gcRuns: gcRuns.map((g) => ({ status: g.status, count: n(g.count) })),
    gcSwept,
    replicationTasks: replication.map((r) => ({ status: r.status, count: n(r.count) })),
    scanReports: scans.map((s) => ({ status: s.status, count: n(s.count) })),
  };
}

/** Keeps the last value of `load` for `ttlMs`; callers during a load share it. */
function cached<T>(ttlMs: number, load: () => Promise<T>): () => Promise<T> {
  let value: { at: number; promise: Promise<T> } | null = null;
  return () => {
    const now = Date.now();
    if (value && now - value.at < ttlMs) return value.promise;
    const promise = load();
    const entry = { at: now, promise };
    value = entry;
    // A failed load is not kept: the next scrape tries again.
    promise.catch(() => {
      if (value === entry) value = null;
    });
    return promise;
  };
}

/**
 * Harbor exporter's gauges (project_collector.go, statistics_collector.go, js_collector.go,
 * system_collector.go, health_collector.go) under Harbor's names, labels and help texts, and
 * Berth's own database-wide gauges (job queue, GC, replication, scans). Computed at scrape
 * time from one cached snapshot.
 */
export function registerDatabaseGauges(registry: Registry, deps: DatabaseGaugeDeps): void {
  const ttl = deps.cacheSeconds * 1000;
  const snapshot = cached(ttl, () => readSnapshot(deps.db, deps.queue));
  const health = cached(ttl, () => deps.health());
  const registers = [registry];
  function gauge<L extends string>(name: string, help: string, labelNames: L[], fill: (g: Gauge<L>, s: Snapshot) => void): void {
    new Gauge<L>({
      name,
      help,
      labelNames,
      registers,
      // Database-wide: every worker reads the same, so a cluster's scrape takes one (cluster.ts).
      aggregator: 'first',
      async collect() {
        const s = await snapshot();
        this.reset();
        fill(this, s);
      },
    });
  }
  const pub = (p: boolean) => (p ? 'true' : 'false');

  gauge('harbor_project_total', 'Total projects number', ['public'], (g, s) => {
    const pubs = s.projects.filter((p) => p.public).length;
    g.set({ public: 'true' }, pubs);
    g.set({ public: 'false' }, s.projects.length - pubs);
  });
  gauge('harbor_project_quota_usage_byte', 'The used resource of a project', ['project_name'], (g, s) => {
    for (const p of s.projects) g.set({ project_name: p.name }, s.usage.get(p.id) ?? 0);
  });
  gauge('harbor_project_quota_byte', 'The quota of a project', ['project_name'], (g, s) => {
    for (const p of s.projects) g.set({ project_name: p.name }, p.limit);
  });
  gauge('harbor_project_member_total', 'Total members number of a project', ['project_name'], (g, s) => {
    for (const p of s.projects) g.set({ project_name: p.name }, s.members.get(p.id) ?? 0);
  });
  gauge('harbor_project_repo_total', 'Total project repos number', ['project_name', 'public'], (g, s) => {
    for (const p of s.projects) g.set({ project_name: p.name, public: pub(p.public) }, s.repositories.get(p.id)?.count ?? 0);
  });
  gauge('harbor_artifact_pulled', 'The pull number of an artifact', ['project_name'], (g, s) => {
    for (const p of s.projects) g.set({ project_name: p.name }, s.repositories.get(p.id)?.pulls ?? 0);
  });
  gauge('harbor_project_artifact_total', 'Total project artifacts number', ['project_name', 'public', 'artifact_type'], (g, s) => {
    const byId = new Map(s.projects.map((p) => [p.id, p]));
    for (const a of s.artifacts) {
      const p = byId.get(a.projectId);
      if (p) g.set({ project_name: p.name, public: pub(p.public), artifact_type: a.type }, a.count);
    }
  });

  // statistics_collector.go
  const repoCount = (s: Snapshot, onlyPublic: boolean) =>
    s.projects.filter((p) => !onlyPublic || p.public).reduce((sum, p) => sum + (s.repositories.get(p.id)?.count ?? 0), 0);
  gauge('harbor_statistics_total_project_amount', 'Total amount of projects', [], (g, s) => g.set(s.projects.length));
  gauge('harbor_statistics_public_project_amount', 'Amount of public projects', [], (g, s) =>
    g.set(s.projects.filter((p) => p.public).length),
  );
  gauge('harbor_statistics_private_project_amount', 'Amount of private projects', [], (g, s) =>
    g.set(s.projects.filter((p) => !p.public).length),
  );
  gauge('harbor_statistics_total_repo_amount', 'Total amount of repositories', [], (g, s) => g.set(repoCount(s, false)));
  gauge('harbor_statistics_public_repo_amount', 'Amount of public repositories', [], (g, s) => g.set(repoCount(s, true)));
  gauge('harbor_statistics_private_repo_amount', 'Amount of private repositories', [], (g, s) =>
    g.set(repoCount(s, false) - repoCount(s, true)),
  );
  gauge('harbor_statistics_total_storage_consumption', 'Total storage used', [], (g, s) => {
    let sum = 0;
    for (const used of s.usage.values()) sum += used;
    g.set(sum);
  });

  // js_collector.go
  gauge('harbor_task_queue_size', 'Total number of tasks', ['type'], (g, s) => {
    for (const q of s.queues) g.set({ type: q.type }, q.size);
  });
  gauge('harbor_task_queue_latency', 'how long ago the next job to be processed was enqueued', ['type'], (g, s) => {
    for (const q of s.queues) g.set({ type: q.type }, q.latency);
  });
  gauge('harbor_task_concurrency', 'Total number of concurrency on a pool', ['type', 'pool'], (g, s) => {
    for (const r of s.running) g.set({ type: r.type, pool: r.pool }, r.count);
  });
  gauge('harbor_task_scheduled_total', 'total number of scheduled job', [], (g, s) => g.set(s.schedules));

  // Berth's own, across the deployment.
  gauge(
    'berth_job_queue_jobs',
    'Jobs waiting or running in the durable queue, by job type and status (pending, running)',
    ['type', 'status'],
    (g, s) => {
      for (const j of s.jobs) g.set({ type: j.type, status: j.status }, j.count);
    },
  );
  gauge('berth_gc_runs', 'Garbage collection runs in the history, by status', ['status'], (g, s) => {
    for (const r of s.gcRuns) g.set({ status: r.status }, r.count);
  });
  gauge('berth_gc_swept_blobs', 'Blobs garbage collection removed, over the runs in the history (dry runs not counted)', [], (g, s) =>
    g.set(s.gcSwept.blobs),
  );
  gauge('berth_gc_freed_bytes', 'Bytes garbage collection freed, over the runs in the history (dry runs not counted)', [], (g, s) =>
    g.set(s.gcSwept.bytes),
  );
  gauge('berth_replication_tasks', 'Replication tasks in the history, by status', ['status'], (g, s) => {
    for (const r of s.replicationTasks) g.set({ status: r.status }, r.count);
  });
  gauge('berth_scan_reports', 'Scan reports, by status', ['status'], (g, s) => {
    for (const r of s.scanReports) g.set({ status: r.status }, r.count);
  });

  // system_collector.go: the settings every instance shares.
  new Gauge({
    name: 'harbor_system_info',
    help: 'Information of Harbor system',
    labelNames: ['auth_mode', 'harbor_version', 'self_registration'],
    registers,
    aggregator: 'first',
    collect() {
      const info = deps.systemInfo();
      this.reset();
      this.set({ auth_mode: info.authMode, harbor_version: deps.version, self_registration: String(info.selfRegistration) }, 1);
    },
  });
  // health_collector.go
  new Gauge({
    name: 'harbor_health',
    help: 'Running status of Harbor',
    registers,
    aggregator: 'min',
    async collect() {
      this.set((await health()).status === 'healthy' ? 1 : 0);
    },
  });
  new Gauge({
    name: 'harbor_up',
    help: 'Running status of harbor component',
    labelNames: ['component'],
    registers,
    aggregator: 'min',
    async collect() {
      const report = await health();
      this.reset();
      for (const c of report.components) this.set({ component: c.name }, c.status === 'healthy' ? 1 : 0);
    },
  });
}
