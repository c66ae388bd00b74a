import { randomUUID } from 'node:crypto';
import { DataSource, QueryFailedError } from 'typeorm';
import { EventRow, UsageEventsRepository } from '../src/metering/usage-events.repository';
import { UsageWriter } from '../src/metering/usage-writer.service';
import { setupTestContext } from './support/test-app';

/** A promise the test settles. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** Where a write() ended: its flags, or its error. */
type Outcome = { fresh: boolean[] } | { error: unknown };
const settle = (write: Promise<boolean[]>): Promise<Outcome> =>
  write.then(
    (fresh) => ({ fresh }),
    (error: unknown) => ({ error }),
  );

/**
 * The group-commit writer on the real repository and database. The only thing faked is time: the
 * repository's statement is held back at will, so that the test decides which writes share a flush.
 */
describe('UsageWriter (group commit)', () => {
  const e2e = setupTestContext();
  let writer: UsageWriter, repository: UsageEventsRepository;
  /** Each statement the writer ran: its rows' ids. */
  let statements: string[][];
  let gate: ReturnType<typeof deferred>;
  /** How many statements still wait for `gate` before running. */
  let holding: number;
  /** Replaces a statement's outcome (a failure the database would give). */
  let fault: ((rows: EventRow[]) => Error | undefined) | undefined;

  const row = (orgId: string, eventId: string, data: Record<string, unknown> = {}): EventRow => ({
    orgId,
    apiKeyId: null,
    eventId,
    meter: 'api_calls',
    time: new Date(),
    subject: null,
    value: null,
    data,
    groupKey: '{}',
    groupValues: {},
  });

  const stored = async (orgId: string): Promise<Record<string, unknown>> =>
    Object.fromEntries(
      (
        await e2e.app
          .get(DataSource)
          .query(`SELECT event_id, data FROM usage_events WHERE org_id = $1 ORDER BY event_id`, [
            orgId,
          ])
      ).map((r: { event_id: string; data: unknown }) => [r.event_id, r.data]),
    );

  /** Starts two writes that take both flush slots and wait; later writes queue for one flush. */
  const occupyFlushes = (orgId: string) => {
    holding = 2;
    return [writer.write([row(orgId, 'slot-1')]), writer.write([row(orgId, 'slot-2')])];
  };

  beforeAll(() => {
    writer = e2e.app.get(UsageWriter);
    repository = e2e.app.get(UsageEventsRepository);
  });
  beforeEach(() => {
    statements = [];
    gate = deferred();
    holding = 0;
    fault = undefined;
    const insert = repository.insertEvents.bind(repository);
    jest.spyOn(repository, 'insertEvents').mockImplementation(async (rows, manager) => {
      statements.push(rows.map((r) => r.eventId));
      if (holding > 0) {
        holding--;
        await gate.promise;
      }
      const error = fault?.(rows);
      if (error) throw error;
      return insert(rows, manager);
    });
  });
  afterEach(() => jest.restoreAllMocks());

  it('writes the writes queued during a flush together, resolving each in order; the first owner of an id wins', async () => {
    const orgId = randomUUID();
    const slots = occupyFlushes(orgId);
    const order: number[] = [];
    const writes = [
      [row(orgId, 'a', { v: 1 }), row(orgId, 'b', { v: 1 })],
      [row(orgId, 'b', { v: 2 }), row(orgId, 'c', { v: 2 })],
      [row(orgId, 'a', { v: 3 })],
      [row(orgId, 'slot-1', { v: 4 })],
    ].map((rows, i) => writer.write(rows).then((fresh) => (order.push(i), fresh)));
    gate.resolve();

    expect(await Promise.all(writes)).toEqual([[true, true], [false, true], [false], [false]]);
    expect(await Promise.all(slots)).toEqual([[true], [true]]);
    expect(order).toEqual([0, 1, 2, 3]);
    // The two held statements, then one for every queued write, each id once.
    expect(statements).toEqual([['slot-1'], ['slot-2'], ['a', 'b', 'c', 'slot-1']]);
    expect(await stored(orgId)).toEqual({
      a: { v: 1 },
      b: { v: 1 },
      c: { v: 2 },
      'slot-1': {},
      'slot-2': {},
    });
  });

  it('retries each write of a failed flush alone, in order, so that only the one at fault is refused', async () => {
    const orgId = randomUUID();
    const slots = occupyFlushes(orgId);
    const outcomes = [
      [row(orgId, 'good-1'), row(orgId, 'shared', { by: 'good-1' })],
      // Postgres refuses this JSON (\u0000 in jsonb): the request's own bad data.
      [row(orgId, 'bad', { text: 'nul \u0000 here' })],
      [row(orgId, 'shared', { by: 'good-2' }), row(orgId, 'good-2')],
    ].map((rows) => settle(writer.write(rows)));
    gate.resolve();

    const [first, bad, last] = await Promise.all(outcomes);
    expect(first).toEqual({ fresh: [true, true] });
    expect(last).toEqual({ fresh: [false, true] });
    expect((bad as { error: QueryFailedError }).error).toBeInstanceOf(QueryFailedError);
    await Promise.all(slots);
    expect(statements.slice(2)).toEqual([
      ['good-1', 'shared', 'bad', 'good-2'],
      ['good-1', 'shared'],
      ['bad'],
      ['shared', 'good-2'],
    ]);
    expect(await stored(orgId)).toEqual({
      'good-1': {},
      'good-2': {},
      shared: { by: 'good-1' },
      'slot-1': {},
      'slot-2': {},
    });
  });

  it('fails every write of a flush at once, without retries, when the connection dies', async () => {
    const orgId = randomUUID();
    const slots = occupyFlushes(orgId);
    const dead = new QueryFailedError(
      'INSERT ...',
      [],
      new Error('Connection terminated unexpectedly'),
    );
    fault = (rows) => (rows.some((r) => r.eventId.startsWith('lost-')) ? dead : undefined);
    const outcomes = ['lost-1', 'lost-2', 'lost-3'].map((id) =>
      settle(writer.write([row(orgId, id)])),
    );
    gate.resolve();

    expect(await Promise.all(outcomes)).toEqual([
      { error: dead },
      { error: dead },
      { error: dead },
    ]);
    await Promise.all(slots);
    expect(statements.slice(2)).toEqual([['lost-1', 'lost-2', 'lost-3']]);
    expect(Object.keys(await stored(orgId))).toEqual(['slot-1', 'slot-2']);
  });

  it('writes everything queued before the app lets go of the database when it is closed', async () => {
    const instance = await e2e.ctx.startApp();
    const otherWriter = instance.get(UsageWriter);
    const otherRepository = instance.get(UsageEventsRepository);
    const orgId = randomUUID();
    const release = deferred();
    const insert = otherRepository.insertEvents.bind(otherRepository);
    jest.spyOn(otherRepository, 'insertEvents').mockImplementation(async (rows, manager) => {
      await release.promise;
      return insert(rows, manager);
    });
    const writes = Array.from({ length: 10 }, (_, i) =>
      settle(otherWriter.write([row(orgId, `queued-${i}`)])),
    );

    const closed = instance.close();
    // The close is under way (its hooks run) while every write is still queued or held.
    await new Promise((resolve) => setImmediate(resolve));
    release.resolve();
    await closed;
    e2e.ctx.apps.splice(e2e.ctx.apps.indexOf(instance), 1);
    expect(await Promise.all(writes)).toEqual(writes.map(() => ({ fresh: [true] })));
    expect(Object.keys(await stored(orgId))).toHaveLength(10);
  });
});
