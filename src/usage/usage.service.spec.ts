import { Meter, Plan } from '../catalogue/catalogue.types';
import { PlansService } from '../catalogue/plans.service';
import { CatalogueCache } from '../catalogue/catalogue-cache';
import { UsageQueryDto } from './dto/usage.dto';
import { PeriodTotalsRow, UsageRepository, WindowQuery } from './usage.repository';
import { periodValue, UsageService } from './usage.service';

const meter = (slug: string, aggregation: Meter['aggregation'], groupBy: string[] = []): Meter => ({
  slug,
  name: slug,
  aggregation,
  valueProperty: aggregation === 'count' ? null : 'v',
  groupBy,
  createdAt: new Date(0),
  updatedAt: new Date(0),
});

const METERS = [
  meter('api_calls', 'count'),
  meter('tokens', 'sum', ['model']),
  meter('peak', 'max'),
  meter('seats', 'unique_count'),
  meter('zeta', 'latest'),
];

const totals = (meter: string, over: Partial<PeriodTotalsRow> = {}): PeriodTotalsRow => ({
  meter,
  count: '0',
  sum: '0',
  min: null,
  max: null,
  avg: null,
  latest: null,
  distinct: '0',
  ...over,
});

function service(options: { plan?: Partial<Plan> | null; totals?: PeriodTotalsRow[] } = {}) {
  const calls: { totals: unknown[][]; windows: WindowQuery[] } = { totals: [], windows: [] };
  const repository = {
    periodTotals: async (...args: unknown[]) => {
      calls.totals.push(args);
      return options.totals ?? [];
    },
    rollupWindows: async (_org: string, _agg: string, query: WindowQuery) => {
      calls.windows.push(query);
      return [];
    },
    uniqueWindows: async () => [],
  } as unknown as UsageRepository;
  const catalogue = {
    meterMap: async () => new Map(METERS.map((m) => [m.slug, m])),
  } as unknown as CatalogueCache;
  const plans = {
    findPlanForOrg: async () => (options.plan === undefined ? null : options.plan),
  } as unknown as PlansService;
  return { usage: new UsageService(repository, catalogue, plans), calls };
}

describe('UsageService', () => {
  it.each<[Meter['aggregation'], Partial<PeriodTotalsRow>, number]>([
    ['count', { count: '12' }, 12],
    ['sum', { sum: '12.50' }, 12.5],
    ['min', { min: -3 }, -3],
    ['max', { max: 7.25 }, 7.25],
    ['avg', { avg: '2.5000000000000000' }, 2.5],
    ['latest', { latest: 9 }, 9],
    ['unique_count', { count: '9', distinct: '4' }, 4],
  ])('reads a %s meter from its monthly totals', (aggregation, over, value) => {
    expect(periodValue(meter('m', aggregation), totals('m', over))).toBe(value);
  });

  it('lists the plan meters first with their quota, then the other used meters by slug', async () => {
    const { usage, calls } = service({
      plan: {
        meters: [
          {
            meter: 'tokens',
            included: 1000,
            enforcement: 'soft',
            price: { model: 'flat', unitAmount: '0' },
          },
          {
            meter: 'api_calls',
            included: 0,
            enforcement: 'hard',
            price: { model: 'flat', unitAmount: '0' },
          },
          {
            meter: 'peak',
            included: 10,
            enforcement: 'hard',
            price: { model: 'flat', unitAmount: '0' },
          },
        ] as Plan['meters'],
      },
      totals: [
        totals('zeta', { latest: 3 }),
        totals('tokens', { count: '3', sum: '1500.5' }),
        totals('seats', { count: '9', distinct: '4' }),
      ],
    });
    const result = await usage.summary('org-1', '2026-05');
    expect(result).toEqual({
      period: '2026-05',
      data: [
        {
          meter: 'tokens',
          value: 1500.5,
          included: 1000,
          remaining: 0,
          percentUsed: 150.05,
          enforcement: 'soft',
        },
        {
          meter: 'api_calls',
          value: 0,
          included: 0,
          remaining: 0,
          percentUsed: null,
          enforcement: 'hard',
        },
        {
          meter: 'peak',
          value: 0,
          included: 10,
          remaining: 10,
          percentUsed: 0,
          enforcement: 'hard',
        },
        {
          meter: 'seats',
          value: 4,
          included: null,
          remaining: null,
          percentUsed: null,
          enforcement: null,
        },
        {
          meter: 'zeta',
          value: 3,
          included: null,
          remaining: null,
          percentUsed: null,
          enforcement: null,
        },
      ],
    });
    // One read of the monthly totals, for the org and the month asked for.
    expect(calls.totals).toHaveLength(1);
    const [[orgId, periodStart]] = calls.totals;
    expect([orgId, (periodStart as Date).toISOString()]).toEqual([
      'org-1',
      '2026-05-01T00:00:00.000Z',
    ]);
  });

  it('rounds the range to whole hours and maps groupBy to its source', async () => {
    const { usage, calls } = service();
    const query = (groupBy?: string) =>
      Object.assign(new UsageQueryDto(), {
        meter: 'tokens',
        from: '2026-05-01T10:30:00Z',
        to: '2026-05-01T12:10:00Z',
        window: 'hour',
        groupBy,
      });
    await usage.windows('org-1', query('model'));
    await usage.windows('org-1', query('apiKeyId'));
    expect(calls.windows.map((w) => w.grouping)).toEqual([
      { by: 'data', key: 'model' },
      { by: 'apiKeyId' },
    ]);
    expect(calls.windows[0].from.toISOString()).toBe('2026-05-01T10:00:00.000Z');
    expect(calls.windows[0].to.toISOString()).toBe('2026-05-01T13:00:00.000Z');
    await expect(usage.windows('org-1', query('region'))).rejects.toMatchObject({
      code: 'validation_failed',
      status: 400,
    });
    await expect(
      usage.windows('org-1', Object.assign(query(), { meter: 'nope' })),
    ).rejects.toMatchObject({ code: 'unknown_meter', status: 400 });
  });
});
