import Big from 'big.js';
import fc from 'fast-check';
import {
  Amount,
  GraduatedPrice,
  PriceModel,
  PriceTier,
  priceModelProblems,
  VolumePrice,
} from '../catalogue/price-model';
import { PRICING_CASES } from './pricing.cases';
import { priceLine } from './pricing';

describe('priceLine (hand-worked cases)', () => {
  it.each(PRICING_CASES.map((c) => [c.name, c] as const))('%s', (_, testCase) => {
    const { price, quantity, included } = testCase;
    if ('throws' in testCase) {
      expect(() => priceLine(price, quantity, included)).toThrow(RangeError);
      expect(() => priceLine(price, quantity, included)).toThrow(testCase.throws);
      return;
    }
    const line = priceLine(price, quantity, included);
    expect(line).toStrictEqual({ quantity, included, ...testCase.expected });
  });

  it('refuses a quantity that is not a finite number instead of pricing NaN', () => {
    for (const quantity of [NaN, Infinity, -Infinity])
      expect(() => priceLine({ model: 'flat', unitAmount: 1 }, quantity, 0)).toThrow(RangeError);
  });
});

// Generators of valid stored prices, modest enough that no line leaves the safe range.
const decimal = fc
  .tuple(fc.integer({ min: 0, max: 10_000 }), fc.stringMatching(/^\d{1,12}$/))
  .map(([whole, fraction]) => `${whole}.${fraction}`);
const amount: fc.Arbitrary<Amount> = fc.oneof(fc.integer({ min: 0, max: 10_000 }), decimal);
const tierSpec = fc.record({
  width: fc.integer({ min: 1, max: 1000 }),
  unitAmount: amount,
  flatAmount: fc.option(amount, { nil: undefined }),
});
const tiers = fc.array(tierSpec, { minLength: 1, maxLength: 5 }).map((specs) => {
  let upTo = 0;
  return specs.map(({ width, unitAmount, flatAmount }, i): PriceTier => {
    upTo += width;
    const tier: PriceTier = { upTo: i === specs.length - 1 ? null : upTo, unitAmount };
    if (flatAmount !== undefined) tier.flatAmount = flatAmount;
    return tier;
  });
});
const flatPrice = amount.map((unitAmount): PriceModel => ({ model: 'flat', unitAmount }));
const graduatedPrice = tiers.map((t): GraduatedPrice => ({ model: 'graduated', tiers: t }));
const volumePrice = tiers.map((t): VolumePrice => ({ model: 'volume', tiers: t }));
const packagePrice = fc
  .tuple(fc.integer({ min: 1, max: 1000 }), amount)
  .map(([packageSize, packageAmount]): PriceModel => ({
    model: 'package',
    packageSize,
    packageAmount,
  }));
const anyPrice = fc.oneof(flatPrice, graduatedPrice, volumePrice, packagePrice);
const monotonePrice = fc.oneof(flatPrice, graduatedPrice, packagePrice);

// Whole counts and fractional sums, including negative sums, up past every generated tier.
const quantity = fc.oneof(
  fc.integer({ min: 0, max: 20_000 }),
  fc.double({ min: -10, max: 20_000, noNaN: true }),
);
/** Fractional sums with the few decimals real ones carry, so that every split is exact. */
const thousandths = fc.integer({ min: 0, max: 20_000_000 }).map((n) => n / 1000);
const included = fc.integer({ min: 0, max: 5_000 });

describe('priceLine (properties)', () => {
  it('the generators produce only valid stored prices', () => {
    fc.assert(fc.property(anyPrice, (price) => priceModelProblems(price).length === 0));
  });

  it('every amount is a non-negative safe integer', () => {
    fc.assert(
      fc.property(anyPrice, quantity, included, (price, q, inc) => {
        const { amount } = priceLine(price, q, inc);
        return Number.isSafeInteger(amount) && amount >= 0;
      }),
    );
  });

  it('billable is max(0, quantity − included), computed exactly', () => {
    fc.assert(
      fc.property(anyPrice, quantity, included, (price, q, inc) => {
        const exact = new Big(q).minus(inc);
        const expected = exact.gt(0) ? exact.toNumber() : 0;
        return priceLine(price, q, inc).billable === expected;
      }),
    );
    // With the few decimals a real sum has, billable + included gives back the quantity to
    // the last digit, which float subtraction does not (1.15 − 1 → 0.1499999999999999).
    fc.assert(
      fc.property(flatPrice, thousandths, included, (price, q, inc) => {
        fc.pre(q >= inc);
        const { billable } = priceLine(price, q, inc);
        return new Big(billable).plus(inc).eq(new Big(q));
      }),
    );
  });

  it('flat, graduated and package never charge less for more usage', () => {
    fc.assert(
      fc.property(monotonePrice, quantity, quantity, included, (price, a, b, inc) => {
        const [low, high] = a <= b ? [a, b] : [b, a];
        return priceLine(price, low, inc).amount <= priceLine(price, high, inc).amount;
      }),
    );
  });

  // Volume is not monotone: past an edge every unit moves to the next tier's rate, and a cheaper
  // higher tier lowers the total (20 units cost 160, 21 cost 71 in the table). What does hold
  // is that within one tier the rate and flat fee are fixed, so more usage never costs less.
  it('volume never charges less for more usage within one tier', () => {
    const withinOneTier = volumePrice.chain((price) =>
      fc.nat({ max: price.tiers.length - 1 }).chain((i) => {
        const lower = i === 0 ? 0 : (price.tiers[i - 1].upTo as number);
        const upper = price.tiers[i].upTo ?? lower + 10_000;
        const inTier = fc.double({ min: lower, max: upper, minExcluded: true, noNaN: true });
        return fc.tuple(fc.constant(price), inTier, inTier);
      }),
    );
    fc.assert(
      fc.property(withinOneTier, ([price, a, b]) => {
        const [low, high] = a <= b ? [a, b] : [b, a];
        return priceLine(price, low, 0).amount <= priceLine(price, high, 0).amount;
      }),
    );
  });

  it('graduated and volume price alike when there is one tier', () => {
    const oneTier = tierSpec.map(({ unitAmount, flatAmount }): PriceTier[] => [
      flatAmount === undefined
        ? { upTo: null, unitAmount }
        : { upTo: null, unitAmount, flatAmount },
    ]);
    fc.assert(
      fc.property(oneTier, quantity, included, (t, q, inc) => {
        const graduated = priceLine({ model: 'graduated', tiers: t }, q, inc);
        expect(priceLine({ model: 'volume', tiers: t }, q, inc)).toStrictEqual(graduated);
      }),
    );
  });

  it('flat equals graduated with one open tier of the same unit amount', () => {
    fc.assert(
      fc.property(amount, quantity, included, (unitAmount, q, inc) => {
        const flat = priceLine({ model: 'flat', unitAmount }, q, inc);
        const tiered = priceLine(
          { model: 'graduated', tiers: [{ upTo: null, unitAmount }] },
          q,
          inc,
        );
        return flat.amount === tiered.amount && flat.billable === tiered.billable;
      }),
    );
  });

  it('tier quantities add up to billable and the line is the rounded sum of tier amounts', () => {
    fc.assert(
      fc.property(fc.oneof(graduatedPrice, volumePrice), thousandths, included, (price, q, inc) => {
        const line = priceLine(price, q, inc);
        const tiers = line.tiers ?? [];
        expect(tiers.map((t) => t.upTo)).toEqual(price.tiers.map((t) => t.upTo));
        const units = tiers.reduce((sum, t) => sum.plus(t.quantity), new Big(0));
        const exact = tiers.reduce((sum, t) => sum.plus(t.amount), new Big(0));
        expect(units.eq(new Big(line.billable))).toBe(true);
        expect(line.amount).toBe(exact.round(0, Big.roundHalfUp).toNumber());
      }),
    );
  });

  it('package charges ceil(billable / packageSize) packages (checked in whole numbers)', () => {
    const whole = fc.integer({ min: 0, max: 20_000 });
    const wholeAmount = fc.integer({ min: 0, max: 10_000 });
    const size = fc.integer({ min: 1, max: 1000 });
    fc.assert(
      fc.property(size, wholeAmount, whole, included, (packageSize, packageAmount, q, inc) => {
        const line = priceLine({ model: 'package', packageSize, packageAmount }, q, inc);
        return line.amount === Math.ceil(Math.max(0, q - inc) / packageSize) * packageAmount;
      }),
    );
  });
});
