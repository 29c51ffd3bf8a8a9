import { sql, type Kysely, type Transaction } from 'kysely';
import type { DialectHelpers } from '../db/dialect.js';
import type { Database } from '../db/types.js';
import { writeAudit } from '../events/audit.js';
import { nowIso } from '../lib/clock.js';
import { AppError } from '../lib/errors.js';
import { webhookEventTypes } from '../webhooks/types.js';
import { quotaEventPayload, repositoryOf, writeQuotaEvent, type QuotaEventSubject } from './events.js';
import { exceededMessage, warningMessage } from './format.js';

type Tx = Transaction<Database>;
type Executor = Kysely<Database> | Tx;

/** A digest a repository now holds, with its size (a blob's, or a manifest's byte length). */
export interface Holding {
  digest: string;
  size: number;
}

/** Who made the change, for the audit record of a warning. */
export interface QuotaActor {
  username: string;
}

/** Who pushed what, for the record of a refusal (and of a warning). */
export interface QuotaWho extends QuotaActor {
  /** What was pushed, e.g. "library/app:1.0" or "library/app@sha256:…". */
  resource: string;
  /** A manifest push: what the QUOTA_EXCEED / QUOTA_WARNING events name as the artifact. */
  manifest?: QuotaEventSubject['manifest'];
}

/** A push refused for quota: 403 DENIED on /v2 with Harbor's message. */
export class QuotaExceeded extends AppError {
  constructor(
    readonly projectId: number,
    readonly adding: number,
    readonly used: number,
    readonly hard: number,
  ) {
    super('DENIED', 403, exceededMessage(adding, used, hard));
  }
}

export interface QuotaUsageOptions {
  /** Audit a warning when usage reaches this percentage of the limit (0: never). */
  warningPercent: number;
  /** PostgreSQL: admission slots per project (see admit). */
  slots?: number;
  /** PostgreSQL: the part of the limit shared out among the slots is limit / marginDivisor. */
  marginDivisor?: number;
  /**
   * Whether limits are enforced now (Harbor's quota_per_project_enable, read on each push).
   * When not, nothing is refused and no admission slot is taken, but usage is still counted,
   * so that enforcement switched back on starts from the true figure.
   */
  enforced?: () => boolean;
}

/** How many values one `in (…)` list carries. */
const batchSize = 500;

function batches<T>(items: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += batchSize) out.push(items.slice(i, i + batchSize));
  return out;
}

/** Advisory lock keys of a project's admission slots: a namespace of their own, then project and slot. */
function slotKeyBase(projectId: number): bigint {
  return (0x5154n << 48n) | (BigInt(projectId) << 8n);
}

/**
 * A project's storage usage, kept exact inside the transactions that change what it holds.
 *
 * What a project holds: the distinct digests linked to its repositories (`repository_blobs`,
 * but not links an artifact deletion released) or that are the manifests of its artifacts; a
 * digest counts once per project however many repositories hold it. `project_blobs` lists them with their sizes, and the usage
 * is the sum of the project's `quota_usage` rows. Every transaction that creates or
 * removes a link or an artifact calls `linked` or `unlinked` after doing so, inside the
 * same transaction (docs/ARCHITECTURE.md, "Quotas", gives the argument for concurrency).
 *
 * - No hot row: a transaction adds its change to whichever usage row no other transaction
 *   holds (`FOR UPDATE SKIP LOCKED`), or to a new one; reads sum the rows.
 * - Exact: a digest's `project_blobs` row is inserted or deleted under row locks that
 *   order a linker and an unlinker of the same digest, and the unlinker checks for other
 *   holders only once it holds the lock.
 * - Enforced: a transaction that adds bytes to a limited project is admitted in one of a
 *   few slots when it is small and the project far from its limit; otherwise it waits for
 *   every slot, so that nothing else adds bytes while it checks usage + added ≤ limit.
 */
export class QuotaUsage {
  private readonly slots: number;
  private readonly marginDivisor: number;

  constructor(
    private readonly dialect: DialectHelpers,
    private readonly options: QuotaUsageOptions,
  ) {
    this.slots = options.slots ?? 16;
    this.marginDivisor = options.marginDivisor ?? 8;
  }

  private get enforcing(): boolean {
    return this.options.enforced?.() ?? true;
  }

  private get postgres(): boolean {
    return this.dialect.name === 'postgres';
  }

  /**
   * After inserting links or an artifact into a repository: the digests it now holds
   * (repeats and digests the project already held change nothing). Refuses with
   * QuotaExceeded when the new bytes take a limited project past its limit; the caller's
   * transaction then rolls back, so nothing of the push is stored.
   */
  async linked(tx: Tx, repositoryId: number, holdings: Holding[], actor?: QuotaActor): Promise<void> {
    if (holdings.length === 0) return;
    const projectId = await this.projectOf(tx, repositoryId);
    if (projectId === undefined) return;
    const sizes = new Map(holdings.map((h) => [h.digest, Number(h.size)]));
    const now = nowIso();
    await this.unrelease(tx, repositoryId, [...sizes.keys()]);
    let added = 0;
    for (const batch of batches([...sizes.keys()].sort())) added += await this.hold(tx, projectId, batch, sizes, now);
    if (added === 0) return;
    const admitted = await this.admit(tx, projectId, added);
    await this.addUsage(tx, projectId, added, now);
    if (admitted !== null && this.reached(admitted.used + added, admitted.hard)) {
      await this.warnIfReached(tx, projectId, admitted.used + added, admitted.hard, actor);
      await this.warningEvent(tx, projectId, repositoryId, admitted.used + added, admitted.hard, actor);
    }
  }

  /**
   * The repository's links to `digests` that an artifact deletion released (see
   * `releaseUnreferenced`), with their sizes: a manifest naming them passes them to `linked`,
   * which takes them back, so that they count again.
   */
  async released(tx: Tx, repositoryId: number, digests: string[]): Promise<Holding[]> {
    const out: Holding[] = [];
    for (const batch of batches([...new Set(digests)])) {
      const rows = await tx
        .selectFrom('repository_blobs as rb')
        .innerJoin('blobs as b', 'b.digest', 'rb.digest')
        .select(['rb.digest', 'b.size'])
        .where('rb.repository_id', '=', repositoryId)
        .where('rb.digest', 'in', batch)
        .where('rb.released_at', 'is not', null)
        .execute();
      out.push(...rows.map((r) => ({ digest: r.digest, size: Number(r.size) })));
    }
    return out;
  }

  /**
   * After deleting artifacts: releases the repository's links to those of `digests` that no
   * remaining artifact of the repository references. A released link still serves the blob
   * (Distribution keeps it until GC, and DELETE of it answers 202) but no longer holds it for
   * the project. Returns the digests released; the caller passes them to `unlinked`. The
   * caller holds the blobs' exclusive locks, so a push naming one commits before or after.
   */
  async releaseUnreferenced(tx: Tx, repositoryId: number, digests: string[]): Promise<string[]> {
    const released: string[] = [];
    const now = nowIso();
    for (const batch of batches([...new Set(digests)].sort())) {
      const rows = await tx
        .updateTable('repository_blobs')
        .set({ released_at: now })
        .where('repository_id', '=', repositoryId)
        .where('digest', 'in', batch)
        .where('released_at', 'is', null)
        .where(({ not, exists, selectFrom }) =>
          not(
            exists(
              selectFrom('artifact_blobs as ab')
                .innerJoin('artifacts as a', 'a.id', 'ab.artifact_id')
                .select('ab.digest')
                .where('a.repository_id', '=', repositoryId)
                .whereRef('ab.digest', '=', 'repository_blobs.digest'),
            ),
          ),
        )
        .returning('digest')
        .execute();
      released.push(...rows.map((r) => r.digest));
    }
    return released;
  }

  /** After deleting links or artifacts of a repository that still exists: the digests it no longer holds. */
  async unlinked(tx: Tx, repositoryId: number, digests: string[]): Promise<void> {
    if (digests.length === 0) return;
    const projectId = await this.projectOf(tx, repositoryId);
    if (projectId !== undefined) await this.projectUnlinked(tx, projectId, digests);
  }

  /** Like `unlinked`, by project: for a repository that was deleted with its links and artifacts. */
  async projectUnlinked(tx: Tx, projectId: number, digests: string[]): Promise<void> {
    if (digests.length === 0) return;
    let removed = 0;
    for (const batch of batches([...new Set(digests)].sort())) removed += await this.release(tx, projectId, batch);
    if (removed === 0) return;
    await this.addUsage(tx, projectId, -removed, nowIso());
    await this.clearWarningIfBelow(tx, projectId);
  }

  /** The stored usage of a project in bytes. */
  async used(db: Executor, projectId: number): Promise<number> {
    return (await this.usedByProject(db, [projectId])).get(projectId) ?? 0;
  }

  /** Stored usage per project; every id given is in the map. */
  async usedByProject(db: Executor, projectIds: number[]): Promise<Map<number, number>> {
    const out = new Map<number, number>(projectIds.map((id) => [id, 0]));
    for (const ids of batches(projectIds)) {
      const rows = await db
        .selectFrom('quota_usage')
        .select((eb) => ['project_id', eb.fn.sum<number>('used').as('used')])
        .where('project_id', 'in', ids)
        .groupBy('project_id')
        .execute();
      for (const r of rows) out.set(Number(r.project_id), Number(r.used));
    }
    return out;
  }

  /**
   * The usage computed afresh from what the project's repositories hold (links and
   * manifests, each digest once), without the quota tables: what the stored usage must equal.
   */
  async recount(db: Executor, projectId: number): Promise<number> {
    const row = await sql<{ used: number | null }>`
      select sum(size) as used from (
        select digest, max(size) as size from (
          select rb.digest, b.size
            from repository_blobs rb
            join repositories r on r.id = rb.repository_id
            join blobs b on b.digest = rb.digest
           where r.project_id = ${projectId} and rb.released_at is null
          union all
          select a.digest, length(a.manifest)
            from artifacts a
            join repositories r on r.id = a.repository_id
           where r.project_id = ${projectId}
        ) held
        group by digest
      ) distinct_digests`.execute(db);
    return Number(row.rows[0]?.used ?? 0);
  }

  /**
   * Before publishing an upload: refuses early, without writing anything, when adding the
   * blob would plainly take the project past its limit. The transaction that links the blob
   * decides for good (`linked`); this only spares storing bytes that will be refused.
   */
  async precheck(db: Executor, repositoryId: number, digest: string, size: number): Promise<void> {
    if (!this.enforcing) return;
    const state = await this.stateOfRepository(db, repositoryId);
    if (!state || state.hard < 0 || state.used + size <= state.hard) return;
    const held = await db
      .selectFrom('project_blobs')
      .select('digest')
      .where('project_id', '=', state.projectId)
      .where('digest', '=', digest)
      .executeTakeFirst();
    if (!held) throw new QuotaExceeded(state.projectId, size, state.used, state.hard);
  }

  /**
   * Sets a project's limit, waiting for the pushes admitted under the old one to finish.
   * Lowering it below usage deletes nothing: it only refuses growth.
   */
  async setLimit(tx: Tx, projectId: number, hard: number, now: string): Promise<void> {
    await this.lockAllSlots(tx, projectId);
    await tx.updateTable('projects').set({ storage_limit: hard }).where('id', '=', projectId).execute();
    const used = await this.used(tx, projectId);
    const warned = hard >= 0 && this.reached(used, hard) ? 1 : 0;
    await tx
      .insertInto('project_quotas')
      .values({ project_id: projectId, warned, updated_at: now })
      .onConflict((oc) => oc.column('project_id').doUpdateSet({ warned, updated_at: now }))
      .execute();
  }

  /**
   * Runs a transaction that `linked` may refuse; a refusal is recorded (recordRefusal) once
   * the transaction has rolled back, then thrown on.
   */
  async refusable<T>(db: Kysely<Database>, run: () => Promise<T>, who: QuotaWho | undefined): Promise<T> {
    try {
      return await run();
    } catch (err) {
      if (err instanceof QuotaExceeded && who) await this.recordRefusal(db, err, who);
      throw err;
    }
  }

  /** Every digest a repository holds: its links and its artifacts' manifests (before deleting it). */
  async digestsHeldBy(tx: Executor, repositoryId: number): Promise<string[]> {
    const rows = await tx
      .selectFrom('repository_blobs')
      .select('digest')
      .where('repository_id', '=', repositoryId)
      .union((eb) => eb.selectFrom('artifacts').select('digest').where('repository_id', '=', repositoryId))
      .execute();
    return rows.map((r) => r.digest);
  }

  /** Records a refused push once its transaction has rolled back: for the project summary and the audit log. */
  async recordRefusal(db: Kysely<Database>, err: QuotaExceeded, who: { username: string; resource: string }): Promise<void> {
    const now = nowIso();
    const message = err.message;
    await db.transaction().execute(async (tx) => {
      await tx
        .insertInto('project_quotas')
        .values({ project_id: err.projectId, refused_at: now, refused_resource: who.resource, refused_message: message })
        .onConflict((oc) =>
          oc.column('project_id').doUpdateSet({ refused_at: now, refused_resource: who.resource, refused_message: message }),
        )
        .execute();
      await writeAudit(tx, {
        username: who.username,
        operation: 'push',
        resourceType: 'quota',
        resource: `${who.resource}: ${message}`.slice(0, 1024),
        projectId: err.projectId,
        result: 'failure',
        time: now,
      });
      const payload = quotaEventPayload(err.projectId, repositoryOf(who.resource), who, {
        message,
        used: err.used,
        hard: err.hard,
      });
      await writeQuotaEvent(tx, webhookEventTypes.quotaExceed, payload);
    });
  }

  // The parts.

  private async projectOf(tx: Executor, repositoryId: number): Promise<number | undefined> {
    const row = await tx.selectFrom('repositories').select('project_id').where('id', '=', repositoryId).executeTakeFirst();
    return row === undefined ? undefined : Number(row.project_id);
  }

  private async stateOfRepository(db: Executor, repositoryId: number) {
    const projectId = await this.projectOf(db, repositoryId);
    if (projectId === undefined) return undefined;
    const state = await this.state(db, projectId);
    return state && { projectId, ...state };
  }

  /** The limit and the stored usage, as committed now. */
  private async state(db: Executor, projectId: number): Promise<{ hard: number; used: number } | undefined> {
    const row = await db
      .selectFrom('projects as p')
      .select((eb) => [
        'p.storage_limit',
        eb
          .selectFrom('quota_usage as u')
          .select((inner) => inner.fn.coalesce(inner.fn.sum<number>('u.used'), sql<number>`0`).as('used'))
          .whereRef('u.project_id', '=', 'p.id')
          .as('used'),
      ])
      .where('p.id', '=', projectId)
      .executeTakeFirst();
    return row && { hard: Number(row.storage_limit), used: Number(row.used ?? 0) };
  }

  /** A link released by a deletion and linked again (pushed, mounted, copied, named by a manifest) counts again. */
  private async unrelease(tx: Tx, repositoryId: number, digests: string[]): Promise<void> {
    for (const batch of batches(digests)) {
      await tx
        .updateTable('repository_blobs')
        .set({ released_at: null })
        .where('repository_id', '=', repositoryId)
        .where('digest', 'in', batch)
        .where('released_at', 'is not', null)
        .execute();
    }
  }

  /**
   * Inserts the project's rows for these digests (sorted); returns the bytes of those it did
   * not hold yet. On PostgreSQL a digest already held is locked FOR KEY SHARE, which waits
   * for an unlinker holding it FOR UPDATE: if that one deleted the row meanwhile, the row is
   * inserted again (the loop), so a digest held by this transaction's link is never left
   * without its row.
   */
  private async hold(tx: Tx, projectId: number, digests: string[], sizes: Map<string, number>, now: string): Promise<number> {
    let added = 0;
    let pending = digests;
    while (pending.length > 0) {
      const inserted = await tx
        .insertInto('project_blobs')
        .values(pending.map((digest) => ({ project_id: projectId, digest, size: sizes.get(digest)!, created_at: now })))
        .onConflict((oc) => oc.columns(['project_id', 'digest']).doNothing())
        .returning('digest')
        .execute();
      const fresh = new Set(inserted.map((r) => r.digest));
      for (const digest of fresh) added += sizes.get(digest)!;
      const existing = pending.filter((d) => !fresh.has(d));
      if (existing.length === 0 || !this.postgres) break;
      const locked = await tx
        .selectFrom('project_blobs')
        .select('digest')
        .where('project_id', '=', projectId)
        .where('digest', 'in', existing)
        .orderBy('digest')
        .forKeyShare()
        .execute();
      const still = new Set(locked.map((r) => r.digest));
      pending = existing.filter((d) => !still.has(d));
    }
    return added;
  }

  /**
   * Deletes the project's rows for these digests (sorted) that no repository of the project
   * holds any more; returns their bytes. The rows are locked first, then holders are looked
   * for in a new statement, which sees every linker that locked the row before us.
   */
  private async release(tx: Tx, projectId: number, digests: string[]): Promise<number> {
    let rows = tx
      .selectFrom('project_blobs')
      .select(['digest', 'size'])
      .where('project_id', '=', projectId)
      .where('digest', 'in', digests)
      .orderBy('digest');
    if (this.postgres) rows = rows.forUpdate();
    const candidates = await rows.execute();
    if (candidates.length === 0) return 0;
    const names = candidates.map((c) => c.digest);
    const held = await tx
      .selectFrom('repository_blobs as rb')
      .innerJoin('repositories as r', 'r.id', 'rb.repository_id')
      .select('rb.digest')
      .where('r.project_id', '=', projectId)
      .where('rb.digest', 'in', names)
      .where('rb.released_at', 'is', null)
      .union((eb) =>
        eb
          .selectFrom('artifacts as a')
          .innerJoin('repositories as r', 'r.id', 'a.repository_id')
          .select('a.digest')
          .where('r.project_id', '=', projectId)
          .where('a.digest', 'in', names),
      )
      .execute();
    const stillHeld = new Set(held.map((r) => r.digest));
    const gone = candidates.filter((c) => !stillHeld.has(c.digest));
    if (gone.length === 0) return 0;
    await tx
      .deleteFrom('project_blobs')
      .where('project_id', '=', projectId)
      .where(
        'digest',
        'in',
        gone.map((g) => g.digest),
      )
      .execute();
    return gone.reduce((sum, g) => sum + Number(g.size), 0);
  }

  /**
   * Admits `added` bytes into the project, or throws QuotaExceeded. Null when limits are not
   * enforced or for a project without a limit; else the limit and the usage the decision was
   * made on.
   *
   * PostgreSQL (READ COMMITTED: a transaction sees only what others committed): the project
   * has `slots` advisory locks. A small addition (at most limit / (marginDivisor × slots))
   * into a project with room for a full slot's worth from every other slot takes any free
   * slot without waiting; the other slots' uncommitted additions are then bounded by
   * (slots − 1) × that share, so the check usage + added + (slots − 1) × share ≤ limit
   * keeps the sum of committed and in-flight additions within the limit. Anything else
   * takes every slot, in order: it waits for in-flight additions to commit or roll back and
   * keeps new ones out while it checks usage + added ≤ limit exactly. Changing the limit
   * takes every slot too, so the share of a slot holder never changes under it. A transaction
   * calls `linked` once, and never holds a slot while it waits for all of them.
   */
  private async admit(tx: Tx, projectId: number, added: number): Promise<{ hard: number; used: number } | null> {
    if (!this.enforcing) return null;
    const initial = await this.state(tx, projectId);
    if (!initial || initial.hard < 0) return null;
    if (this.postgres && this.fits(initial, added)) {
      // Under a savepoint: if usage moved meanwhile, rolling back to it gives the slot back, so
      // that this transaction never waits for every slot while holding one (that would deadlock
      // with a transaction taking them all in order).
      await sql`savepoint quota_slot`.execute(tx);
      await this.takeSlot(tx, projectId);
      // Read after taking the slot: any limit change or exclusive admission has finished.
      const now = (await this.state(tx, projectId))!;
      if (now.hard < 0 || this.fits(now, added)) {
        await sql`release savepoint quota_slot`.execute(tx);
        return now.hard < 0 ? null : now;
      }
      await sql`rollback to savepoint quota_slot`.execute(tx);
      await sql`release savepoint quota_slot`.execute(tx);
    }
    await this.lockAllSlots(tx, projectId);
    const state = (await this.state(tx, projectId))!;
    if (state.hard < 0) return null;
    if (state.used + added > state.hard) throw new QuotaExceeded(projectId, added, state.used, state.hard);
    return state;
  }

  /** Whether `added` may be admitted in one slot: at most a slot's share, with room for a full share from every other slot. */
  private fits(state: { hard: number; used: number }, added: number): boolean {
    const share = Math.floor(state.hard / (this.marginDivisor * this.slots));
    return added <= share && state.used + added + (this.slots - 1) * share <= state.hard;
  }

  /**
   * Takes one admission slot of the project: a free one without waiting, else waits for one
   * chosen at random. A transaction waiting here holds no slot, and slot holders never wait
   * for what such a transaction holds (the slot is the last lock a push takes), so this
   * cannot deadlock.
   */
  private async takeSlot(tx: Tx, projectId: number): Promise<void> {
    const base = slotKeyBase(projectId);
    const offset = Math.floor(Math.random() * this.slots);
    const { rows } = await sql<{ s: number }>`
      select s from generate_series(0, ${this.slots - 1}) as g(s)
       where pg_try_advisory_xact_lock(${base.toString()}::bigint + ((s + ${offset}) % ${this.slots}))
       limit 1`.execute(tx);
    if (rows.length > 0) return;
    await sql`select pg_advisory_xact_lock(${(base + BigInt(offset)).toString()}::bigint)`.execute(tx);
  }

  /** Takes every admission slot of the project, in order (PostgreSQL; nothing to do on SQLite). */
  private async lockAllSlots(tx: Tx, projectId: number): Promise<void> {
    if (!this.postgres) return;
    const base = slotKeyBase(projectId);
    await sql`select count(pg_advisory_xact_lock(${base.toString()}::bigint + s)) from generate_series(0, ${this.slots - 1}) as g(s)`.execute(
      tx,
    );
  }

  /**
   * Adds `delta` to one of the project's usage rows: on PostgreSQL any row no other
   * transaction holds (SKIP LOCKED), or a new row when all are held, so that concurrent
   * pushes into one project never wait for each other here.
   */
  private async addUsage(tx: Tx, projectId: number, delta: number, now: string): Promise<void> {
    const free = tx.selectFrom('quota_usage').select('shard').where('project_id', '=', projectId).limit(1);
    const updated = await tx
      .updateTable('quota_usage')
      .set((eb) => ({ used: eb('used', '+', delta), updated_at: now }))
      .where('project_id', '=', projectId)
      .where('shard', '=', this.dialect.skipLocked(free))
      .executeTakeFirst();
    if (Number(updated.numUpdatedRows) > 0) return;
    const shard = this.postgres ? Math.floor(Math.random() * 2 ** 31) : 0;
    await tx
      .insertInto('quota_usage')
      .values({ project_id: projectId, shard, used: delta, updated_at: now })
      .onConflict((oc) =>
        oc.columns(['project_id', 'shard']).doUpdateSet((eb) => ({ used: eb('quota_usage.used', '+', delta), updated_at: now })),
      )
      .execute();
  }

  /** Harbor's test: used × 100 ≥ limit × percent. */
  private reached(used: number, hard: number): boolean {
    return this.options.warningPercent > 0 && used * 100 >= hard * this.options.warningPercent;
  }

  /** Audits the warning once per crossing: the transaction that flips `warned` from 0 to 1 writes it. */
  private async warnIfReached(tx: Tx, projectId: number, used: number, hard: number, actor?: QuotaActor): Promise<void> {
    if (!this.reached(used, hard)) return;
    const state = await tx.selectFrom('project_quotas').select('warned').where('project_id', '=', projectId).executeTakeFirst();
    if (state?.warned === 1) return;
    const flipped = await tx
      .insertInto('project_quotas')
      .values({ project_id: projectId, warned: 1 })
      .onConflict((oc) => oc.column('project_id').doUpdateSet({ warned: 1 }).where('project_quotas.warned', '=', 0))
      .returning('project_id')
      .executeTakeFirst();
    if (!flipped) return;
    const project = await tx.selectFrom('projects').select('name').where('id', '=', projectId).executeTakeFirst();
    await writeAudit(tx, {
      username: actor?.username ?? 'system',
      operation: 'warning',
      resourceType: 'quota',
      resource: `${project?.name ?? projectId}: ${warningMessage(this.options.warningPercent, used, hard)}`,
      projectId,
    });
  }

  /**
   * QUOTA_WARNING, as Harbor sends it: after every push that added bytes while usage is at or
   * above the threshold (not once per crossing, as the audit record above). Part of the push's
   * transaction, so a push rolled back warns nobody.
   */
  private async warningEvent(tx: Tx, projectId: number, repositoryId: number, used: number, hard: number, actor?: QuotaActor) {
    const who = actor as Partial<QuotaWho> | undefined;
    const repository =
      who?.resource !== undefined
        ? repositoryOf(who.resource)
        : (await tx.selectFrom('repositories').select('name').where('id', '=', repositoryId).executeTakeFirst())?.name;
    if (repository === undefined) return;
    const message = warningMessage(this.options.warningPercent, used, hard);
    await writeQuotaEvent(tx, webhookEventTypes.quotaWarning, quotaEventPayload(projectId, repository, who, { message, used, hard }));
  }

  /** Usage fell: the next crossing of the threshold warns again. */
  private async clearWarningIfBelow(tx: Tx, projectId: number): Promise<void> {
    const state = await tx.selectFrom('project_quotas').select('warned').where('project_id', '=', projectId).executeTakeFirst();
    if (state?.warned !== 1) return;
    const now = await this.state(tx, projectId);
    if (now && now.hard >= 0 && this.reached(now.used, now.hard)) return;
    await tx.updateTable('project_quotas').set({ warned: 0 }).where('project_id', '=', projectId).where('warned', '=', 1).execute();
  }
}
