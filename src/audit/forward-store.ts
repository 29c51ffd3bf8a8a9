import { sql } from 'kysely';
import type { DialectHelpers } from '../db/dialect.js';
import type { Db } from '../db/index.js';
import { nowIso } from '../lib/clock.js';

export interface AuditRecordRow {
  id: number;
  txId: number;
  projectId: number | null;
  username: string;
  operation: string;
  resourceType: string;
  resource: string;
  result: string;
  clientIp: string;
  opTime: string;
}

export interface ForwardCursor {
  lastTxId: number;
  lastId: number;
}

/**
 * The forwarder's SQL: a cursor over audit_logs in (tx_id, id) order, and a lease that lets
 * one instance at a time forward (held between rounds, taken over when it runs out). No
 * transaction stays open while records travel to the syslog server.
 */
export class AuditForwardStore {
  constructor(
    private readonly db: Db,
    private readonly dialect: DialectHelpers,
  ) {}

  /** The position of the newest audit record, if any. */
  private newestRecord(): Promise<{ tx_id: number; id: number } | undefined> {
    return this.db
      .selectFrom('audit_logs')
      .select(['tx_id', 'id'])
      .orderBy('tx_id', 'desc')
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst();
  }

  /** Creates the cursor, at the newest record, when there is none yet: forwarding starts with the records written from now on. */
  async ensureCursor(name: string): Promise<void> {
    const exists = await this.db.selectFrom('audit_forward_cursors').select('name').where('name', '=', name).executeTakeFirst();
    if (exists) return;
    const last = await this.newestRecord();
    await this.db
      .insertInto('audit_forward_cursors')
      .values({
        name,
        last_tx_id: last ? Number(last.tx_id) : 0,
        last_id: last ? Number(last.id) : 0,
        holder: '',
        held_until: 0,
        forwarded: 0,
        updated_at: nowIso(),
      })
      .onConflict((oc) => oc.column('name').doNothing())
      .execute();
  }

  /**
   * Moves the cursor to the newest record and drops any lease (creating the cursor if need
   * be): forwarding switched on through the settings starts with the records written from now
   * on, as Harbor forwards only what happens while an endpoint is set. A forwarder still
   * holding the old lease loses it, so it cannot move the cursor back.
   */
  async restartAtNewest(name: string): Promise<void> {
    await this.ensureCursor(name);
    const last = await this.newestRecord();
    await this.db
      .updateTable('audit_forward_cursors')
      .set({
        last_tx_id: last ? Number(last.tx_id) : 0,
        last_id: last ? Number(last.id) : 0,
        holder: '',
        held_until: 0,
        updated_at: nowIso(),
      })
      .where('name', '=', name)
      .execute();
  }

  /** Takes or renews the lease for `leaseMs`; the cursor when this instance holds it, undefined when another does. */
  async acquire(name: string, holder: string, leaseMs: number): Promise<ForwardCursor | undefined> {
    const now = this.dialect.currentTimeMs;
    const result = await this.db
      .updateTable('audit_forward_cursors')
      .set({ holder, held_until: sql<number>`cast(${now} + ${leaseMs} as bigint)` })
      .where('name', '=', name)
      .where((eb) => eb.or([eb('holder', '=', holder), eb('held_until', '<', now)]))
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) === 0) return undefined;
    const row = await this.db
      .selectFrom('audit_forward_cursors')
      .select(['last_tx_id', 'last_id', 'holder'])
      .where('name', '=', name)
      .executeTakeFirst();
    if (!row || row.holder !== holder) return undefined;
    return { lastTxId: Number(row.last_tx_id), lastId: Number(row.last_id) };
  }

  /** Whether records wait after the cursor (reads only: the idle path writes nothing). */
  async pending(name: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('audit_forward_cursors as c')
      .select('c.name')
      .where('c.name', '=', name)
      .where(({ exists, selectFrom }) =>
        exists(
          selectFrom('audit_logs as a')
            .select('a.id')
            .where((eb) =>
              eb.or([
                eb('a.tx_id', '>', eb.ref('c.last_tx_id')),
                eb.and([eb('a.tx_id', '=', eb.ref('c.last_tx_id')), eb('a.id', '>', eb.ref('c.last_id'))]),
              ]),
            )
            .where('a.tx_id', '<', this.dialect.transactionHorizon),
        ),
      )
      .executeTakeFirst();
    return row !== undefined;
  }

  /** Gives the lease up (at shutdown), so that another instance or the next start goes on at once. */
  async release(name: string, holder: string): Promise<void> {
    await this.db
      .updateTable('audit_forward_cursors')
      .set({ holder: '', held_until: 0 })
      .where('name', '=', name)
      .where('holder', '=', holder)
      .execute();
  }

  /**
   * The records after the cursor, in order; on PostgreSQL only those of transactions older
   * than every one still running, so a record committed late with a lower id is never passed.
   */
  async after(cursor: ForwardCursor, limit: number): Promise<AuditRecordRow[]> {
    const rows = await this.db
      .selectFrom('audit_logs')
      .select(['id', 'tx_id', 'project_id', 'username', 'operation', 'resource_type', 'resource', 'result', 'client_ip', 'op_time'])
      .where((eb) => eb.or([eb('tx_id', '>', cursor.lastTxId), eb.and([eb('tx_id', '=', cursor.lastTxId), eb('id', '>', cursor.lastId)])]))
      .where('tx_id', '<', this.dialect.transactionHorizon)
      .orderBy('tx_id')
      .orderBy('id')
      .limit(limit)
      .execute();
    return rows.map((r) => ({
      id: Number(r.id),
      txId: Number(r.tx_id),
      projectId: r.project_id === null ? null : Number(r.project_id),
      username: r.username,
      operation: r.operation,
      resourceType: r.resource_type,
      resource: r.resource,
      result: r.result,
      clientIp: r.client_ip,
      opTime: r.op_time,
    }));
  }

  /**
   * Moves the cursor past the forwarded records (and deletes them, with `deleteForwarded`) in
   * one transaction, if this instance still holds the lease; false when it lost it (another
   * instance then forwards them again: at least once).
   */
  async advance(name: string, holder: string, to: ForwardCursor, forwardedIds: number[], deleteForwarded: boolean): Promise<boolean> {
    return this.db.transaction().execute(async (tx) => {
      const moved = await tx
        .updateTable('audit_forward_cursors')
        .set((eb) => ({
          last_tx_id: to.lastTxId,
          last_id: to.lastId,
          forwarded: eb('forwarded', '+', forwardedIds.length),
          updated_at: nowIso(),
        }))
        .where('name', '=', name)
        .where('holder', '=', holder)
        .executeTakeFirst();
      if (Number(moved.numUpdatedRows) === 0) return false;
      if (deleteForwarded) {
        for (let i = 0; i < forwardedIds.length; i += 500) {
          await tx
            .deleteFrom('audit_logs')
            .where('id', 'in', forwardedIds.slice(i, i + 500))
            .execute();
        }
      }
      return true;
    });
  }

  /** The cursor's state, for status and tests. */
  async state(name: string): Promise<{ lastTxId: number; lastId: number; forwarded: number; holder: string } | undefined> {
    const row = await this.db.selectFrom('audit_forward_cursors').selectAll().where('name', '=', name).executeTakeFirst();
    return row && { lastTxId: Number(row.last_tx_id), lastId: Number(row.last_id), forwarded: Number(row.forwarded), holder: row.holder };
  }
}
