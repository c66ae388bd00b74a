import { isPriceModel, priceModelProblems } from './price-model';

describe('priceModelProblems', () => {
  it.each<[string, unknown]>([
    ['flat with an integer amount', { model: 'flat', unitAmount: 3 }],
    ['flat with zero', { model: 'flat', unitAmount: 0 }],
    ['flat with a decimal string', { model: 'flat', unitAmount: '0.5' }],
    ['flat with an integer string', { model: 'flat', unitAmount: '12' }],
    ['flat with 12 decimals', { model: 'flat', unitAmount: '0.000000000001' }],
    [
      'graduated with one open tier',
      { model: 'graduated', tiers: [{ upTo: null, unitAmount: 1 }] },
    ],
    [
      'graduated with increasing tiers and flat amounts',
      {
        model: 'graduated',
        tiers: [
          { upTo: 1000, unitAmount: 0, flatAmount: 500 },
          { upTo: 10000, unitAmount: '0.5', flatAmount: '2.25' },
          { upTo: null, unitAmount: '0.1' },
        ],
      },
    ],
    [
      'volume with tiers',
      {
        model: 'volume',
        tiers: [
          { upTo: 1, unitAmount: 10 },
          { upTo: 2, unitAmount: 9 },
          { upTo: null, unitAmount: 8, flatAmount: 0 },
        ],
      },
    ],
    ['package', { model: 'package', packageSize: 1000, packageAmount: 200 }],
    ['package of one unit', { model: 'package', packageSize: 1, packageAmount: '0.25' }],
  ])('accepts %s', (_, price) => {
    expect(priceModelProblems(price)).toEqual([]);
    expect(isPriceModel(price)).toBe(true);
  });

  it.each<[string, unknown, string[]]>([
    ['not an object', 'flat', ['must be an object']],
    ['an array', [], ['must be an object']],
    ['null', null, ['must be an object']],
    [
      'an unknown model',
      { model: 'tiered', unitAmount: 1 },
      ['model must be one of flat, graduated, volume, package'],
    ],
    [
      'a missing model',
      { unitAmount: 1 },
      ['model must be one of flat, graduated, volume, package'],
    ],
    [
      'a negative amount',
      { model: 'flat', unitAmount: -1 },
      ['unitAmount must be a non-negative integer or a decimal string such as "0.5"'],
    ],
    [
      'a fractional number amount',
      { model: 'flat', unitAmount: 0.5 },
      ['unitAmount must be a non-negative integer or a decimal string such as "0.5"'],
    ],
    [
      'a missing amount',
      { model: 'flat' },
      ['unitAmount must be a non-negative integer or a decimal string such as "0.5"'],
    ],
    [
      'an amount beyond 2^53',
      { model: 'flat', unitAmount: 2 ** 53 },
      ['unitAmount must be a non-negative integer or a decimal string such as "0.5"'],
    ],
    ...['-0.5', '.5', '1.', '1,5', '1e3', ' 1', '0x10', '0.0000000000001', '', 'free'].map(
      (s): [string, unknown, string[]] => [
        `a bad decimal string ${JSON.stringify(s)}`,
        { model: 'flat', unitAmount: s },
        ['unitAmount must be a non-negative integer or a decimal string such as "0.5"'],
      ],
    ),
    [
      'empty tiers',
      { model: 'graduated', tiers: [] },
      ['tiers must be an array of at least one tier'],
    ],
    ['missing tiers', { model: 'volume' }, ['tiers must be an array of at least one tier']],
    [
      'tiers that are not an array',
      { model: 'volume', tiers: {} },
      ['tiers must be an array of at least one tier'],
    ],
    [
      'a tier that is not an object',
      { model: 'graduated', tiers: [5] },
      ['tiers.0 must be an object'],
    ],
    [
      'non-increasing upTo',
      {
        model: 'graduated',
        tiers: [
          { upTo: 100, unitAmount: 1 },
          { upTo: 100, unitAmount: 1 },
          { upTo: null, unitAmount: 1 },
        ],
      },
      ["tiers.1.upTo must be greater than the previous tier's upTo (100)"],
    ],
    [
      'decreasing upTo',
      {
        model: 'volume',
        tiers: [
          { upTo: 100, unitAmount: 1 },
          { upTo: 50, unitAmount: 1 },
          { upTo: null, unitAmount: 1 },
        ],
      },
      ["tiers.1.upTo must be greater than the previous tier's upTo (100)"],
    ],
    [
      'a null upTo before the last tier',
      {
        model: 'graduated',
        tiers: [
          { upTo: null, unitAmount: 1 },
          { upTo: null, unitAmount: 1 },
        ],
      },
      ['tiers.0.upTo may be null only in the last tier'],
    ],
    [
      'a last tier with a bound',
      {
        model: 'graduated',
        tiers: [
          { upTo: 10, unitAmount: 1 },
          { upTo: 20, unitAmount: 1 },
        ],
      },
      ['tiers.1.upTo must be null in the last tier (it has no upper bound)'],
    ],
    [
      'a last tier without upTo',
      { model: 'volume', tiers: [{ unitAmount: 1 }] },
      ['tiers.0.upTo must be null in the last tier (it has no upper bound)'],
    ],
    [
      'a zero or fractional upTo',
      {
        model: 'graduated',
        tiers: [
          { upTo: 0, unitAmount: 1 },
          { upTo: 1.5, unitAmount: 1 },
          { upTo: null, unitAmount: 1 },
        ],
      },
      [
        'tiers.0.upTo must be a positive integer, or null in the last tier',
        'tiers.1.upTo must be a positive integer, or null in the last tier',
      ],
    ],
    [
      'bad tier amounts',
      { model: 'graduated', tiers: [{ upTo: null, unitAmount: '-1', flatAmount: 'x' }] },
      [
        'tiers.0.unitAmount must be a non-negative integer or a decimal string such as "0.5"',
        'tiers.0.flatAmount must be a non-negative integer or a decimal string such as "0.5"',
      ],
    ],
    [
      'package size 0',
      { model: 'package', packageSize: 0, packageAmount: 100 },
      ['packageSize must be an integer of at least 1'],
    ],
    [
      'a fractional package size',
      { model: 'package', packageSize: 2.5, packageAmount: 100 },
      ['packageSize must be an integer of at least 1'],
    ],
    [
      'a package size as a string',
      { model: 'package', packageSize: '10', packageAmount: 100 },
      ['packageSize must be an integer of at least 1'],
    ],
    [
      'an unknown field on the price',
      { model: 'flat', unitAmount: 1, currency: 'USD' },
      ['property currency should not exist'],
    ],
    [
      "another model's field",
      { model: 'flat', unitAmount: 1, tiers: [] },
      ['property tiers should not exist'],
    ],
    [
      'an unknown field on a tier',
      { model: 'volume', tiers: [{ upTo: null, unitAmount: 1, note: 'x' }] },
      ['property tiers.0.note should not exist'],
    ],
    [
      'several problems at once, each listed',
      { model: 'package', packageSize: 0, packageAmount: -5, extra: true },
      [
        'property extra should not exist',
        'packageSize must be an integer of at least 1',
        'packageAmount must be a non-negative integer or a decimal string such as "0.5"',
      ],
    ],
  ])('refuses %s', (_, price, problems) => {
    expect(priceModelProblems(price)).toEqual(problems);
    expect(isPriceModel(price)).toBe(false);
  });
});
