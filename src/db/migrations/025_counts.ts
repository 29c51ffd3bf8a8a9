import { sql, type Kysely } from 'kysely';
import type { DialectHelpers } from '../dialect.js';

/**
 * Whole-table counts kept as the rows change (db/counts.ts reads them).
 *
 * row_counts holds, per count, STRIPES rows whose sum is the count. Triggers on the counted
 * tables add to one stripe in the same statement (so in the same transaction) as the change,
 * cascades included: a count is exactly right whenever a transaction can see it. On
 * PostgreSQL a transaction writes the stripe of its connection (backend pid modulo STRIPES),
 * so concurrent pushes on other connections do not wait on one counter row; on SQLite, where
 * one transaction writes at a time, stripes do not matter.
 *
 * Counts: projects, projects.public, repositories (known to Harbor: pushed to at least
 * once), repositories.public (those in public projects), blobs.size (bytes of every stored
 * blob) and audit_logs. The migration backfills them from the rows already there.
 */
export const STRIPES = 16;

export const countNames = ['projects', 'projects.public', 'repositories', 'repositories.public', 'blobs.size', 'audit_logs'] as const;

const known = `<> ''`;

const backfill: Record<(typeof countNames)[number], string> = {
  projects: 'select count(*) from projects',
  'projects.public': 'select count(*) from projects where public = 1',
  repositories: `select count(*) from repositories where updated_at ${known}`,
  'repositories.public': `select count(*) from repositories r join projects p on p.id = r.project_id where r.updated_at ${known} and p.public = 1`,
  'blobs.size': 'select coalesce(sum(size), 0) from blobs',
  audit_logs: 'select count(*) from audit_logs',
};

export async function up(db: Kysely<any>, d: DialectHelpers): Promise<void> {
  await db.schema
    .createTable('row_counts')
    .addColumn('name', d.string(64), (c) => c.notNull())
    .addColumn('stripe', 'integer', (c) => c.notNull())
    .addColumn('n', 'bigint', (c) => c.notNull().defaultTo(0))
    .addPrimaryKeyConstraint('row_counts_pk', ['name', 'stripe'])
    .execute();
  for (const name of countNames) {
    for (let stripe = 0; stripe < STRIPES; stripe++) {
      if (stripe === 0) {
        await sql`insert into row_counts (name, stripe, n) values (${name}, 0, (${sql.raw(backfill[name])}))`.execute(db);
      } else {
        await db.insertInto('row_counts').values({ name, stripe, n: 0 }).execute();
      }
    }
  }
  // Repository listings order by creation time: an index keeps a page's cost flat.
  await db.schema.createIndex('repositories_created').on('repositories').column('created_at').execute();
  if (d.name === 'sqlite') await sqliteTriggers(db);
  else await postgresTriggers(db);
}

async function sqliteTriggers(db: Kysely<any>): Promise<void> {
  const bump = (name: string, delta: string, stripe: string) =>
    `update row_counts set n = n + (${delta}) where name = '${name}' and stripe = (${stripe}) % ${STRIPES};`;
  const publicOf = (project: string) => `coalesce((select public from projects where id = ${project}), 0)`;
  const statements = [
    `create trigger row_counts_projects_insert after insert on projects begin
       ${bump('projects', '1', 'new.id')}
       ${bump('projects.public', 'new.public = 1', 'new.id')}
     end`,
    `create trigger row_counts_projects_delete after delete on projects begin
       ${bump('projects', '-1', 'old.id')}
       ${bump('projects.public', '-(old.public = 1)', 'old.id')}
     end`,
    `create trigger row_counts_projects_public after update of public on projects when (old.public = 1) <> (new.public = 1) begin
       ${bump('projects.public', 'case when new.public = 1 then 1 else -1 end', 'new.id')}
       ${bump(
         'repositories.public',
         `(case when new.public = 1 then 1 else -1 end) * (select count(*) from repositories where project_id = new.id and updated_at ${known})`,
         'new.id',
       )}
     end`,
    `create trigger row_counts_repositories_insert after insert on repositories when new.updated_at ${known} begin
       ${bump('repositories', '1', 'new.id')}
       ${bump('repositories.public', `${publicOf('new.project_id')} = 1`, 'new.id')}
     end`,
    `create trigger row_counts_repositories_delete after delete on repositories when old.updated_at ${known} begin
       ${bump('repositories', '-1', 'old.id')}
       ${bump('repositories.public', `-(${publicOf('old.project_id')} = 1)`, 'old.id')}
     end`,
    `create trigger row_counts_repositories_update after update of updated_at, project_id on repositories
       when (old.updated_at ${known}) <> (new.updated_at ${known}) or old.project_id <> new.project_id begin
       ${bump('repositories', `(new.updated_at ${known}) - (old.updated_at ${known})`, 'new.id')}
       ${bump(
         'repositories.public',
         `((new.updated_at ${known}) and ${publicOf('new.project_id')} = 1) - ((old.updated_at ${known}) and ${publicOf('old.project_id')} = 1)`,
         'new.id',
       )}
     end`,
    `create trigger row_counts_blobs_insert after insert on blobs begin
       ${bump('blobs.size', 'new.size', 'new.rowid')}
     end`,
    `create trigger row_counts_blobs_delete after delete on blobs begin
       ${bump('blobs.size', '-old.size', 'old.rowid')}
     end`,
    `create trigger row_counts_blobs_update after update of size on blobs when old.size <> new.size begin
       ${bump('blobs.size', 'new.size - old.size', 'new.rowid')}
     end`,
    `create trigger row_counts_audit_insert after insert on audit_logs begin
       ${bump('audit_logs', '1', 'new.id')}
     end`,
    `create trigger row_counts_audit_delete after delete on audit_logs begin
       ${bump('audit_logs', '-1', 'old.id')}
     end`,
  ];
  for (const s of statements) await sql.raw(s).execute(db);
}

async function postgresTriggers(db: Kysely<any>): Promise<void> {
  const statements = [
    `create function row_counts_bump(counter text, delta bigint) returns void language sql as $$
       update row_counts set n = n + delta where name = counter and stripe = pg_backend_pid() % ${STRIPES}
     $$`,
    `create function row_counts_public_of(project bigint) returns boolean language sql stable as $$
       select coalesce((select public = 1 from projects where id = project), false)
     $$`,
    `create function row_counts_projects() returns trigger language plpgsql as $$
     declare d bigint;
     begin
       if tg_op = 'INSERT' then
         perform row_counts_bump('projects', 1);
         if new.public = 1 then perform row_counts_bump('projects.public', 1); end if;
       elsif tg_op = 'DELETE' then
         perform row_counts_bump('projects', -1);
         if old.public = 1 then perform row_counts_bump('projects.public', -1); end if;
       elsif (old.public = 1) <> (new.public = 1) then
         d := case when new.public = 1 then 1 else -1 end;
         perform row_counts_bump('projects.public', d);
         perform row_counts_bump('repositories.public',
           d * (select count(*) from repositories where project_id = new.id and updated_at ${known}));
       end if;
       return null;
     end $$`,
    `create trigger row_counts_projects after insert or delete or update of public on projects
       for each row execute function row_counts_projects()`,
    `create function row_counts_repositories() returns trigger language plpgsql as $$
     declare was_known boolean := false; was_public boolean := false; is_known boolean := false; is_public boolean := false;
     begin
       if tg_op in ('UPDATE', 'DELETE') then
         was_known := old.updated_at ${known};
         was_public := was_known and row_counts_public_of(old.project_id);
       end if;
       if tg_op in ('UPDATE', 'INSERT') then
         is_known := new.updated_at ${known};
         is_public := is_known and row_counts_public_of(new.project_id);
       end if;
       if is_known <> was_known then
         perform row_counts_bump('repositories', case when is_known then 1 else -1 end);
       end if;
       if is_public <> was_public then
         perform row_counts_bump('repositories.public', case when is_public then 1 else -1 end);
       end if;
       return null;
     end $$`,
    `create trigger row_counts_repositories after insert or delete or update of updated_at, project_id on repositories
       for each row execute function row_counts_repositories()`,
    `create function row_counts_blobs() returns trigger language plpgsql as $$
     begin
       if tg_op = 'INSERT' then perform row_counts_bump('blobs.size', new.size);
       elsif tg_op = 'DELETE' then perform row_counts_bump('blobs.size', -old.size);
       elsif old.size <> new.size then perform row_counts_bump('blobs.size', new.size - old.size);
       end if;
       return null;
     end $$`,
    `create trigger row_counts_blobs after insert or delete or update of size on blobs
       for each row execute function row_counts_blobs()`,
    // Audit records come and go in bulk (purge): one counter update per statement.
    `create function row_counts_audit_insert() returns trigger language plpgsql as $$
     begin
       perform row_counts_bump('audit_logs', (select count(*) from added));
       return null;
     end $$`,
    `create function row_counts_audit_delete() returns trigger language plpgsql as $$
     begin
       perform row_counts_bump('audit_logs', -(select count(*) from removed));
       return null;
     end $$`,
    `create trigger row_counts_audit_insert after insert on audit_logs referencing new table as added
       for each statement execute function row_counts_audit_insert()`,
    `create trigger row_counts_audit_delete after delete on audit_logs referencing old table as removed
       for each statement execute function row_counts_audit_delete()`,
  ];
  for (const s of statements) await sql.raw(s).execute(db);
}
