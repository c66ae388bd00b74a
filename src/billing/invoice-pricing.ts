import Big from 'big.js';
import { Plan } from '../catalogue/catalogue.types';
import { PricedLine, priceLine, toMinorUnits } from './pricing';

/**
 * Prices a whole invoice (CONTRACT §9) from the plan in force at the end of the period and the
 * period's quantity per meter. Pure: the service adds `id`, `orgId`, `period`, `status` and
 * `finalizedAt`, and snapshots the result when it finalizes.
 */

export type InvoicePlan = Pick<Plan, 'code' | 'name' | 'currency' | 'baseFee' | 'meters'>;

export type PricedInvoiceLine = { meter: string } & PricedLine;

export interface PricedInvoice {
  plan: { code: string; name: string };
  currency: string;
  baseFee: number;
  lines: PricedInvoiceLine[];
  subtotal: number;
  total: number;
}

/**
 * One line per meter of the plan, in the plan's order; a meter with no usage in `quantities`
 * still gets its line (quantity 0), so an invoice always shows what the plan prices. Quantities
 * of meters the plan does not list are ignored: those are metered but not billed (§8).
 */
export function priceInvoice(
  plan: InvoicePlan,
  quantities: ReadonlyMap<string, number>,
): PricedInvoice {
  const lines = plan.meters.map((m): PricedInvoiceLine => ({
    meter: m.meter,
    ...priceLine(m.price, quantities.get(m.meter) ?? 0, m.included),
  }));
  // Each amount is a safe integer, but their sum need not be: add in big.js and check once.
  const exactSubtotal = lines.reduce((sum, line) => sum.plus(line.amount), new Big(0));
  const subtotal = toMinorUnits(exactSubtotal, 'invoice subtotal');
  const total = toMinorUnits(exactSubtotal.plus(plan.baseFee), 'invoice total');
  return {
    plan: { code: plan.code, name: plan.name },
    currency: plan.currency,
    baseFee: plan.baseFee,
    lines,
    subtotal,
    total,
  };
}
