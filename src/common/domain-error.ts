/**
 * The base of every error a service throws on purpose. Each module declares its own subclass with
 * a closed set of codes and an exhaustive code → status table (`errorClass` below), so a code can
 * never be thrown without a status; the one global filter turns them into the contract's body.
 * Services never throw Nest's HTTP exceptions.
 */
export abstract class DomainError extends Error {
  abstract readonly code: string;
  abstract readonly status: number;
  /** Seconds a client should wait before retrying (sent as `Retry-After`). */
  retryAfterSeconds?: number;
  /** Field-level problems of a 400 (each also listed in `message`). */
  problems?: Problem[];
  /** Extra, safe-to-show facts (readiness states, the index of a closed period, ...). */
  details?: Record<string, unknown>;
}

/**
 * One thing wrong with a request: which field (a path like `events[3].id`) and a whole sentence
 * saying what, naming the field (`events[3].id must be a string of 1 to 128 characters`).
 */
export interface Problem {
  field: string;
  message: string;
}

export interface DomainErrorOptions {
  retryAfterSeconds?: number;
  problems?: Problem[];
  details?: Record<string, unknown>;
}

export interface DomainErrorClass<C extends string> {
  new (code: C, message: string, options?: DomainErrorOptions): DomainError & { code: C };
  readonly statuses: Readonly<Record<C, number>>;
}

/**
 * Declares a module's error class from its code → HTTP status table. The table's type is the
 * module's code union, so a code without a status does not compile:
 *
 *   export const OrgsError = errorClass('OrgsError', { last_owner: 409, org_not_found: 404 });
 *   throw new OrgsError('last_owner', 'The organization must keep at least one owner');
 */
export function errorClass<C extends string>(
  name: string,
  statuses: Record<C, number>,
): DomainErrorClass<C> {
  const cls = class extends DomainError {
    static readonly statuses = statuses;
    readonly status: number;

    constructor(
      readonly code: C,
      message: string,
      options: DomainErrorOptions = {},
    ) {
      super(message);
      this.status = statuses[code];
      this.retryAfterSeconds = options.retryAfterSeconds;
      this.problems = options.problems;
      this.details = options.details;
    }
  };
  Object.defineProperty(cls, 'name', { value: name });
  return cls;
}

/** Errors every module may raise: bad input, and dependencies that are down. */
export const CommonError = errorClass('CommonError', {
  validation_failed: 400,
  malformed_json: 400,
  invalid_cursor: 400,
  bad_request: 400,
  not_found: 404,
  payload_too_large: 413,
  unsupported_media_type: 415,
  too_many_requests: 429,
  database_unavailable: 503,
});

/** 400 listing every problem, each named by its field. */
export function validationFailed(problems: Problem[]): DomainError {
  return new CommonError('validation_failed', 'The request is not valid', { problems });
}
