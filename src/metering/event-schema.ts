/**
 * The one definition of a usage event's shape: compiled by ajv to validate requests
 * (`event-validation.ts`) and published as is in the OpenAPI document (`events.controller.ts`).
 * `x-rule` is how a field's rule reads in an error message (`id must be a string of 1 to 128
 * characters`); the rules no schema can say (a known meter, the time window, 8 KB of data, the
 * meter's value) are checked after it, in event-validation.ts.
 */
export const MAX_BATCH = 1000;
export const MAX_EVENT_ID_LENGTH = 128;
export const MAX_SUBJECT_LENGTH = 256;

export const EVENT_SCHEMA = {
  type: 'object',
  required: ['id', 'type'],
  additionalProperties: false,
  properties: {
    id: {
      type: 'string',
      minLength: 1,
      maxLength: MAX_EVENT_ID_LENGTH,
      description: 'Idempotency key, unique per org: a repeated id is a duplicate (first one wins)',
      example: 'req-7f3c2a',
      'x-rule': `a string of 1 to ${MAX_EVENT_ID_LENGTH} characters`,
    },
    type: {
      type: 'string',
      minLength: 1,
      maxLength: 64,
      description: 'A meter slug',
      example: 'api_calls',
      'x-rule': 'a meter slug',
    },
    time: {
      type: 'string',
      format: 'date-time',
      description: 'Default now; at most 5 minutes ahead and 35 days back',
      example: '2026-11-29T10:00:00Z',
      'x-rule': 'an ISO-8601 date-time with a time zone',
    },
    subject: {
      type: ['string', 'null'],
      maxLength: MAX_SUBJECT_LENGTH,
      description: 'The end customer or resource inside the org',
      example: 'customer-42',
      'x-rule': `a string of at most ${MAX_SUBJECT_LENGTH} characters`,
    },
    data: {
      type: ['object', 'null'],
      additionalProperties: true,
      description: 'At most 8 KB; the meter reads its value property and group-by keys from it',
      example: { tokens: 1200, model: 'large' },
      'x-rule': 'a JSON object',
    },
  },
} as const;

export const EVENT_BATCH_SCHEMA = {
  type: 'object',
  required: ['events'],
  additionalProperties: false,
  properties: {
    events: {
      type: 'array',
      minItems: 1,
      maxItems: MAX_BATCH,
      items: EVENT_SCHEMA,
      'x-message': `events must contain between 1 and ${MAX_BATCH} events`,
    },
  },
} as const;

/**
 * A CloudEvent 1.0 in structured mode, as OpenMeter takes them: `id`, `type`, `subject`, `time`
 * and `data` map one to one onto an event; `source`, `datacontenttype` and `dataschema` (the other
 * context attributes of the specification) are accepted and ignored. Extension attributes and
 * `data_base64` are refused by name: nothing here would read them.
 */
export const CLOUD_EVENT_SCHEMA = {
  type: 'object',
  required: ['specversion', 'id', 'type', 'source'],
  additionalProperties: false,
  properties: {
    specversion: {
      const: '1.0',
      description: 'Always "1.0"',
      example: '1.0',
      'x-rule': '"1.0"',
    },
    id: EVENT_SCHEMA.properties.id,
    type: EVENT_SCHEMA.properties.type,
    source: {
      type: 'string',
      minLength: 1,
      maxLength: 1024,
      description: 'Accepted and ignored',
      example: 'my-service',
      'x-rule': 'a string of 1 to 1024 characters',
    },
    subject: EVENT_SCHEMA.properties.subject,
    time: EVENT_SCHEMA.properties.time,
    datacontenttype: {
      type: 'string',
      maxLength: 256,
      description: 'Accepted and ignored',
      example: 'application/json',
      'x-rule': 'a string of at most 256 characters',
    },
    dataschema: {
      type: 'string',
      maxLength: 2048,
      description: 'Accepted and ignored',
      example: 'https://example.com/schemas/api-call.json',
      'x-rule': 'a string of at most 2048 characters',
    },
    data: EVENT_SCHEMA.properties.data,
  },
} as const;

export const CLOUD_EVENT_BATCH_SCHEMA = {
  type: 'array',
  minItems: 1,
  maxItems: MAX_BATCH,
  items: CLOUD_EVENT_SCHEMA,
  'x-message': `a batch must contain between 1 and ${MAX_BATCH} events`,
} as const;

/**
 * A schema as OpenAPI 3.0 writes it: without the keywords only validation reads, `nullable`
 * instead of a `null` type, `enum` instead of `const`.
 */
export function forDocument(schema: object): Record<string, unknown> {
  return JSON.parse(
    JSON.stringify(schema, (key, value: unknown) => {
      if (key === 'x-rule' || key === 'x-message') return undefined;
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
      const node = { ...(value as Record<string, unknown>) };
      if (Array.isArray(node.type) && node.type.includes('null')) {
        node.type = node.type.find((t) => t !== 'null');
        node.nullable = true;
      }
      if ('const' in node) {
        node.enum = [node.const];
        delete node.const;
      }
      return node;
    }),
  ) as Record<string, unknown>;
}
