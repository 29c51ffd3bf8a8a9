import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Dispatcher, EventTypes, writeEvent, type OutboxEvent } from '../../src/events/outbox.js';
import type { DatabaseHandle } from '../../src/db/index.js';
import { RegistryStore, type NewManifest } from '../../src/registry/store.js';
import { eachDatabase, waitFor } from '../jobs/databases.js';

eachDatabase('outbox', (db) => {
  const eventsOf = (type: string) =>
    db().handle.db.selectFrom('events').selectAll().where('type', '=', type).orderBy('tx_id').orderBy('id').execute();

  function dispatcherOf(handle: DatabaseHandle = db().handle, batchSize = 100): Dispatcher {
    return new Dispatcher(handle.db, handle.dialect, { pollIntervalMs: 20, batchSize });
  }

  /** Events of one type a subscriber was handed, by id. */
  function recorder(type: string) {
    const ids: number[] = [];
    return {
      ids,
      handler: (event: OutboxEvent) => {
        if (event.type === type) ids.push(event.id);
      },
    };
  }

  test('an event written in a change transaction exists only if the change commits', async () => {
    const { db: kysely } = db().handle;
    await assert.rejects(
      kysely.transaction().execute(async (tx) => {
        await tx.insertInto('settings').values({ name: 'outbox-test', value: 'x', created_at: new Date().toISOString() }).execute();
        await writeEvent(tx, 'tx.event', { committed: false });
        throw new Error('the change fails');
      }),
      /the change fails/,
    );
    assert.deepEqual(await eventsOf('tx.event'), []);
    await kysely.transaction().execute(async (tx) => {
      await tx.insertInto('settings').values({ name: 'outbox-test', value: 'x', created_at: new Date().toISOString() }).execute();
      await writeEvent(tx, 'tx.event', { committed: true });
    });
    const events = await eventsOf('tx.event');
    assert.deepEqual(
      events.map((e) => JSON.parse(e.payload)),
      [{ committed: true }],
    );
  });

  test('pushing, pulling and deleting an artifact write their events in the same transactions', async () => {
    const { db: kysely, dialect } = db().handle;
    const now = new Date().toISOString();
    const project = await kysely
      .insertInto('projects')
      .values({ name: 'outbox', public: 0, owner_id: null, created_at: now, updated_at: now })
      .returning('id')
      .executeTakeFirstOrThrow();
    const repository = await kysely
      .insertInto('repositories')
      .values({ project_id: Number(project.id), name: 'outbox/app', description: '', created_at: now, updated_at: now })
      .returning('id')
      .executeTakeFirstOrThrow();
    const store = new RegistryStore(kysely, dialect);
    const digest = `sha256:${'a'.repeat(64)}`;
    const manifest = (repositoryId: number): NewManifest => ({
      repositoryId,
      digest,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      artifactType: null,
      size: 10,
      bytes: new TextEncoder().encode('{}'),
      subjectDigest: null,
      annotations: null,
      blobDigests: [],
      children: [],
      tags: ['v1'],
      description: { type: 'IMAGE', configMediaType: null, extraAttrs: null, icon: null, accessory: null },
      now,
      audit: { username: 'alice', operation: 'create', resourceType: 'artifact', resource: 'outbox/app:v1', projectId: Number(project.id) },
    });

    // A push that fails (its repository does not exist) leaves no event.
    await assert.rejects(store.commitManifest(manifest(987_654)));
    assert.deepEqual(await eventsOf(EventTypes.artifactPushed), []);

    const artifactId = await store.commitManifest(manifest(Number(repository.id)));
    const pushed = await eventsOf(EventTypes.artifactPushed);
    assert.equal(pushed.length, 1);
    assert.deepEqual(JSON.parse(pushed[0].payload), {
      project_id: Number(project.id),
      repository_id: Number(repository.id),
      repository: 'outbox/app',
      artifact_id: artifactId,
      digest,
      media_type: 'application/vnd.oci.image.manifest.v1+json',
      tags: ['v1'],
      operator: 'alice',
      occurred_at: now,
    });

    await store.recordPulls([{ artifactId, tag: 'v1', operator: 'bob', time: now, count: 3 }], []);
    const pulled = await eventsOf(EventTypes.artifactPulled);
    assert.deepEqual(
      pulled.map((e) => JSON.parse(e.payload)),
      [
        {
          project_id: Number(project.id),
          repository_id: Number(repository.id),
          repository: 'outbox/app',
          artifact_id: artifactId,
          digest,
          tag: 'v1',
          count: 3,
          operator: 'bob',
          occurred_at: now,
        },
      ],
    );

    // The deletion names the artifact's labels (replication filters deletions by them; the rows go with the artifact).
    for (const name of ['release', 'audited']) {
      const label = await kysely
        .insertInto('labels')
        .values({ name, description: '', color: '', scope: 'g', project_id: 0, creation_time: now, update_time: now })
        .returning('id')
        .executeTakeFirstOrThrow();
      await kysely
        .insertInto('artifact_labels')
        .values({ artifact_id: artifactId, label_id: Number(label.id), creation_time: now })
        .execute();
    }
    await store.deleteArtifact(artifactId, {
      username: 'bob',
      operation: 'delete',
      resourceType: 'artifact',
      resource: `outbox/app@${digest}`,
      projectId: Number(project.id),
      time: now,
    });
    const deleted = await eventsOf(EventTypes.artifactDeleted);
    assert.deepEqual(
      deleted.map((e) => JSON.parse(e.payload)),
      [
        {
          project_id: Number(project.id),
          repository_id: Number(repository.id),
          repository: 'outbox/app',
          artifact_id: artifactId,
          digest,
          media_type: 'application/vnd.oci.image.manifest.v1+json',
          tags: ['v1'],
          labels: ['audited', 'release'],
          operator: 'bob',
          occurred_at: now,
        },
      ],
    );
    // Deleting what is already gone writes nothing more.
    await store.deleteArtifact(artifactId, { username: 'bob', operation: 'delete', resourceType: 'artifact', resource: 'x' });
    assert.equal((await eventsOf(EventTypes.artifactDeleted)).length, 1);
  });

  test('two dispatchers on separate connections deliver every event once per subscriber, in order', async () => {
    const handles = [db().handle, db().connect()];
    const written: number[] = [];
    await Promise.all(
      Array.from({ length: 60 }, (_, i) => handles[i % 2].db.transaction().execute((tx) => writeEvent(tx, 'two.event', { i }))),
    );
    written.push(...(await eventsOf('two.event')).map((e) => Number(e.id)));
    assert.equal(written.length, 60);
    const got = { first: [] as number[], second: [] as number[] };
    const dispatchers = handles.map((h) => dispatcherOf(h, 7));
    for (const d of dispatchers) {
      d.subscribe('two.first', (e) => void (e.type === 'two.event' && got.first.push(e.id)));
      d.subscribe('two.second', (e) => void (e.type === 'two.event' && got.second.push(e.id)));
    }
    await waitFor(
      async () => {
        await Promise.all(dispatchers.map((d) => d.dispatch()));
        return got.first.length + got.second.length;
      },
      (n) => n >= 120,
      'both subscribers to have every event',
    );
    await Promise.all(dispatchers.map((d) => d.drain()));
    // Exactly once each, in (transaction, id) order: the order eventsOf reads.
    assert.deepEqual(got.first, written);
    assert.deepEqual(got.second, written);
  });

  test('a restarted dispatcher resumes after its cursor', async () => {
    for (let i = 0; i < 5; i++) await writeEvent(db().handle.db, 'restart.event', { i });
    const before = recorder('restart.event');
    const first = dispatcherOf();
    first.subscribe('restart.subscriber', before.handler);
    first.start();
    await waitFor(
      async () => before.ids.length,
      (n) => n === 5,
      'the first five events',
    );
    await first.stop();

    for (let i = 5; i < 8; i++) await writeEvent(db().handle.db, 'restart.event', { i });
    const after = recorder('restart.event');
    const second = dispatcherOf(db().connect());
    second.subscribe('restart.subscriber', after.handler);
    await waitFor(
      async () => {
        await second.dispatch();
        return after.ids.length;
      },
      (n) => n >= 3,
      'the three new events',
    );
    await second.drain();
    const all = (await eventsOf('restart.event')).map((e) => Number(e.id));
    assert.deepEqual(before.ids, all.slice(0, 5));
    assert.deepEqual(after.ids, all.slice(5));
  });

  test("a subscriber that throws gets its batch again, with its transaction's writes undone", async () => {
    const { db: kysely } = db().handle;
    await kysely.schema
      .createTable('test_effects')
      .ifNotExists()
      .addColumn('subscriber', 'varchar(64)', (c) => c.notNull())
      .addColumn('event_id', 'bigint', (c) => c.notNull())
      .execute();
    for (let i = 0; i < 4; i++) await writeEvent(kysely, 'throw.event', { i });
    const ids = (await eventsOf('throw.event')).map((e) => Number(e.id));
    let failed = false;
    const dispatcher = new Dispatcher(kysely, db().handle.dialect, { pollIntervalMs: 20, batchSize: 100, retryMaxMs: 50 });
    const other = recorder('throw.event');
    dispatcher.subscribe('throw.flaky', async (event, tx) => {
      if (event.type !== 'throw.event') return;
      await (tx as typeof kysely)
        .insertInto('test_effects' as any)
        .values({ subscriber: 'throw.flaky', event_id: event.id })
        .execute();
      if (event.id === ids[2] && !failed) {
        failed = true;
        throw new Error('the subscriber fails once');
      }
    });
    dispatcher.subscribe('throw.steady', other.handler);
    await waitFor(
      async () => {
        await dispatcher.dispatch();
        const rows = await (kysely as any).selectFrom('test_effects').select('event_id').where('subscriber', '=', 'throw.flaky').execute();
        return rows.map((r: { event_id: number }) => Number(r.event_id)).sort((a: number, b: number) => a - b);
      },
      (effects: number[]) => effects.length >= 4,
      'the flaky subscriber to catch up',
    );
    assert.ok(failed);
    const effects = await (kysely as any)
      .selectFrom('test_effects')
      .select('event_id')
      .where('subscriber', '=', 'throw.flaky')
      .orderBy('event_id')
      .execute();
    assert.deepEqual(
      effects.map((r: { event_id: number }) => Number(r.event_id)),
      ids,
      'each effect written exactly once',
    );
    await dispatcher.drain();
    assert.deepEqual(other.ids, ids, 'the other subscriber is not held back');
  });

  test('a new subscriber starting at "latest" skips the events already written', async () => {
    await writeEvent(db().handle.db, 'latest.event', { old: true });
    const got: unknown[] = [];
    const dispatcher = dispatcherOf();
    dispatcher.subscribe('latest.subscriber', (e) => void (e.type === 'latest.event' && got.push(e.payload)), { start: 'latest' });
    await dispatcher.drain();
    assert.deepEqual(got, []);
    await writeEvent(db().handle.db, 'latest.event', { old: false });
    await waitFor(
      async () => {
        await dispatcher.dispatch();
        return got.length;
      },
      (n) => n >= 1,
      'the new event',
    );
    assert.deepEqual(got, [{ old: false }]);
    assert.throws(() => dispatcher.subscribe('latest.subscriber', () => undefined), /already registered/);
  });

  test('an event committed after one with a higher id is still delivered, in commit-safe order', async (t) => {
    if (db().dialect === 'sqlite') {
      t.skip('SQLite runs one write transaction at a time: ids are always committed in order');
      return;
    }
    const got: string[] = [];
    const dispatcher = dispatcherOf(db().connect());
    dispatcher.subscribe('late.subscriber', (e) => void (e.type === 'late.event' && got.push(e.payload.n)));
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let written!: () => void;
    const wrote = new Promise<void>((resolve) => (written = resolve));
    const slow = db()
      .handle.db.transaction()
      .execute(async (tx) => {
        await writeEvent(tx, 'late.event', { n: 'lower id, committed last' });
        written();
        await gate;
      });
    await wrote;
    await db()
      .connect()
      .db.transaction()
      .execute((tx) => writeEvent(tx, 'late.event', { n: 'higher id, committed first' }));
    await dispatcher.drain();
    // The committed event waits behind the open transaction rather than being read past it.
    assert.deepEqual(got, []);
    release();
    await slow;
    await waitFor(
      async () => {
        await dispatcher.dispatch();
        return got.length;
      },
      (n) => n >= 2,
      'both events',
    );
    assert.deepEqual(got, ['lower id, committed last', 'higher id, committed first']);
  });

  test('events older than the retention that every cursor has passed are pruned', async () => {
    const { db: kysely, dialect } = db().handle;
    // Only this test's subscribers count here; one of them has read nothing yet.
    await kysely.deleteFrom('event_cursors').execute();
    await kysely
      .insertInto('event_cursors')
      .values({ subscriber: 'prune.behind', last_tx_id: 0, last_event_id: 0, updated_at: '' })
      .execute();
    await writeEvent(kysely, 'prune.event', {});
    const [written] = await eventsOf('prune.event');
    const dispatcher = new Dispatcher(kysely, dialect, { retentionMs: 0 });
    dispatcher.subscribe('prune.ahead', () => undefined);
    // Until the subscriber has read past this test's event (earlier tests' events come first).
    await waitFor(
      async () => {
        await dispatcher.dispatch();
        return await kysely
          .selectFrom('event_cursors')
          .select(['last_tx_id', 'last_event_id'])
          .where('subscriber', '=', 'prune.ahead')
          .executeTakeFirst();
      },
      (cursor) =>
        cursor !== undefined &&
        (Number(cursor.last_tx_id) > Number(written.tx_id) ||
          (Number(cursor.last_tx_id) === Number(written.tx_id) && Number(cursor.last_event_id) >= Number(written.id))),
      'the subscriber to read past the event',
    );
    await dispatcher.drain();
    await new Promise((resolve) => setTimeout(resolve, 5));
    // The cursor still at the start holds every event.
    assert.equal(await dispatcher.prune(), 0);
    assert.equal((await eventsOf('prune.event')).length, 1);
    await kysely.deleteFrom('event_cursors').where('subscriber', '=', 'prune.behind').execute();
    assert.ok((await dispatcher.prune()) > 0);
    assert.deepEqual(await eventsOf('prune.event'), []);
  });
});
