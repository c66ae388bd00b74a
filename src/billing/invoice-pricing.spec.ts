import { PlanMeter } from '../catalogue/catalogue.types';
import { InvoicePlan, priceInvoice } from './invoice-pricing';
import { PRICING_CASES } from './pricing.cases';

const meter = (slug: string, included: number, price: PlanMeter['price']): PlanMeter => ({
  meter: slug,
  included,
  enforcement: 'soft',
  price,
});

const PRO: InvoicePlan = {
  code: 'pro',
  name: 'Pro',
  currency: 'EUR',
  baseFee: 4900,
  meters: [
    meter('api_calls', 100_000, { model: 'package', packageSize: 1000, packageAmount: 200 }),
    meter('tokens', 0, {
      model: 'graduated',
      tiers: [
        { upTo: 1000, unitAmount: 0 },
        { upTo: null, unitAmount: '0.5', flatAmount: 100 },
      ],
    }),
    meter('storage_gb', 10, { model: 'flat', unitAmount: 25 }),
  ],
};

describe('priceInvoice', () => {
  it('prices one line per plan meter in the plan order and totals them with the base fee', () => {
    const invoice = priceInvoice(
      PRO,
      new Map([
        ['storage_gb', 12.5],
        ['api_calls', 101_001],
        ['tokens', 1003],
      ]),
    );
    expect(invoice).toStrictEqual({
      plan: { code: 'pro', name: 'Pro' },
      currency: 'EUR',
      baseFee: 4900,
      lines: [
        // 101001 − 100000 = 1001 → ceil(1001 / 1000) = 2 packages × 200 = 400
        { meter: 'api_calls', quantity: 101_001, included: 100_000, billable: 1001, amount: 400 },
        // 1000 × 0 = 0; 3 × 0.5 + 100 = 101.5; 101.5 → 102
        {
          meter: 'tokens',
          quantity: 1003,
          included: 0,
          billable: 1003,
          amount: 102,
          tiers: [
            { upTo: 1000, quantity: 1000, unitAmount: 0, flatAmount: 0, amount: 0 },
            { upTo: null, quantity: 3, unitAmount: '0.5', flatAmount: 100, amount: '101.5' },
          ],
        },
        // 12.5 − 10 = 2.5 × 25 = 62.5 → 63
        { meter: 'storage_gb', quantity: 12.5, included: 10, billable: 2.5, amount: 63 },
      ],
      // 400 + 102 + 63 = 565; 4900 + 565 = 5465
      subtotal: 565,
      total: 5465,
    });
  });

  it('bills a plan meter with no usage as a zero line and ignores meters the plan does not list', () => {
    const invoice = priceInvoice(
      PRO,
      new Map([
        ['tokens', 500],
        ['not_in_plan', 1e9],
      ]),
    );
    expect(invoice.lines.map((l) => [l.meter, l.quantity, l.amount])).toEqual([
      ['api_calls', 0, 0],
      ['tokens', 500, 0],
      ['storage_gb', 0, 0],
    ]);
    expect(invoice.subtotal).toBe(0);
    expect(invoice.total).toBe(4900);
  });

  it('charges only the base fee on a plan without meters', () => {
    const invoice = priceInvoice({ ...PRO, meters: [] }, new Map([['api_calls', 5]]));
    expect(invoice).toMatchObject({ lines: [], subtotal: 0, total: 4900 });
  });

  it('is plain data that survives a JSON round trip unchanged, as a finalized snapshot must', () => {
    const invoice = priceInvoice(PRO, new Map([['tokens', 2000.25]]));
    expect(JSON.parse(JSON.stringify(invoice))).toStrictEqual(invoice);
  });

  it.each(PRICING_CASES.flatMap((c) => ('expected' in c ? [[c.name, c] as const] : [])))(
    'a one-meter plan bills the line of the table case: %s',
    (_, c) => {
      const plan: InvoicePlan = { ...PRO, baseFee: 0, meters: [meter('m', c.included, c.price)] };
      const invoice = priceInvoice(plan, new Map([['m', c.quantity]]));
      expect(invoice.lines).toStrictEqual([
        { meter: 'm', quantity: c.quantity, included: c.included, ...c.expected },
      ]);
      expect(invoice.total).toBe(c.expected.amount);
    },
  );

  it('refuses a subtotal past the safe integer range rather than round it', () => {
    const big = meter('a', 0, { model: 'flat', unitAmount: 1 });
    const plan = { ...PRO, meters: [big, { ...big, meter: 'b' }] };
    const quantities = new Map([
      ['a', Number.MAX_SAFE_INTEGER],
      ['b', 1],
    ]);
    expect(() => priceInvoice(plan, quantities)).toThrow(RangeError);
    expect(() => priceInvoice(plan, quantities)).toThrow(/invoice subtotal of 9007199254740992/);
  });

  it('refuses a total past the safe integer range once the base fee is added', () => {
    const plan = { ...PRO, baseFee: 1, meters: [meter('a', 0, { model: 'flat', unitAmount: 1 })] };
    const quantities = new Map([['a', Number.MAX_SAFE_INTEGER]]);
    expect(() => priceInvoice(plan, quantities)).toThrow(/invoice total of 9007199254740992/);
  });
});
