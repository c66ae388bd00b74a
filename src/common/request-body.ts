import { json, NextFunction, Request, RequestHandler, Response, urlencoded } from 'express';
import { CommonError, DomainError, validationFailed } from './domain-error';

/**
 * How request bodies are read, for every route: the content type is checked first (415), then the
 * body is parsed within a size limit (413, malformed 400), then every string in it is inspected
 * (NUL and unpaired surrogates are 400 naming the field, as is JSON nested deeper than 32 levels).
 * `/v1` routes read their body only once their API key is accepted (see the API key guard), so
 * the same reader is also callable as a promise.
 */
export interface BodyRules {
  /** Largest body, in body-parser's notation (`'1mb'`). */
  limit: string;
  /** JSON media types accepted (besides `application/json`). */
  jsonTypes?: string[];
  /** Also accept the OAuth2 password form (`application/x-www-form-urlencoded`). */
  form?: boolean;
}

export const MAX_JSON_DEPTH = 32;
const FORM = 'application/x-www-form-urlencoded';

/** body-parser's error `type`s, as the answers the contract wants. */
function parserError(error: { type?: string }): DomainError {
  switch (error.type) {
    case 'entity.parse.failed':
      return new CommonError('malformed_json', 'Request body is not valid JSON');
    case 'entity.too.large':
    case 'parameters.too.many':
      return new CommonError('payload_too_large', 'Request body is too large');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new CommonError('unsupported_media_type', 'Bodies must be UTF-8');
    default:
      return new CommonError('bad_request', 'Request body could not be read');
  }
}

/** Whether the request carries a body at all (a GET usually does not): else there is nothing to read. */
export const hasBody = (req: Request) =>
  req.headers['transfer-encoding'] !== undefined ||
  (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0');

/** The media type, lower-cased without parameters, and whether its charset (if any) is UTF-8. */
function mediaType(req: Request): { type: string; utf8: boolean } {
  const [type, ...params] = (req.headers['content-type'] ?? '').split(';');
  const charset = params
    .map((p) => p.trim().toLowerCase())
    .find((p) => p.startsWith('charset='))
    ?.slice('charset='.length)
    .replace(/"/g, '');
  return { type: type.trim().toLowerCase(), utf8: charset === undefined || charset === 'utf-8' };
}

/** Express middleware reading a body by `rules`. */
export function bodyReader(rules: BodyRules): RequestHandler {
  const jsonTypes = ['application/json', ...(rules.jsonTypes ?? [])];
  const parseJson = json({ limit: rules.limit, type: () => true });
  const parseForm = urlencoded({ extended: false, limit: rules.limit, type: () => true });
  return (req: Request, res: Response, next: NextFunction) => {
    if (!hasBody(req)) return next();
    const { type, utf8 } = mediaType(req);
    const isJson = jsonTypes.includes(type);
    if (!isJson && !(rules.form && type === FORM)) {
      const allowed = rules.form ? [...jsonTypes, FORM] : jsonTypes;
      return next(
        new CommonError('unsupported_media_type', `Content-Type must be ${allowed.join(' or ')}`),
      );
    }
    if (!utf8) return next(new CommonError('unsupported_media_type', 'Bodies must be UTF-8'));
    const parse = isJson ? parseJson : parseForm;
    parse(req, res, (error?: unknown) => {
      if (error) return next(parserError(error as { type?: string }));
      const problem = inspect(req.body);
      next(problem ?? undefined);
    });
  };
}

/** Runs a reader as a promise (for the routes that read their body after authenticating). */
export function readBody(reader: RequestHandler, req: Request, res: Response): Promise<void> {
  return new Promise((resolve, reject) =>
    reader(req, res, (error?: unknown) => (error ? reject(error) : resolve())),
  );
}

/**
 * URLs too may not carry NUL: not in a query value, nor in a path segment (`/admin/meters/a%00b`,
 * which would otherwise reach Postgres). A URL cannot carry an unpaired surrogate: its
 * percent-encoding is not UTF-8, and the router refuses it.
 */
export function rejectUnsafeUrl(req: Request, _res: Response, next: NextFunction): void {
  // `req.path` is still percent-encoded; a literal NUL cannot get past the HTTP parser.
  if (/%00/i.test(req.path)) return next(badField('path', 'must not contain U+0000'));
  next(inspect(req.query, 'query') ?? undefined);
}

/** A string Postgres and JSON consumers can hold: no U+0000, no unpaired surrogate. */
export function unsafeStringProblem(text: string): string | null {
  if (text.includes('\u0000')) return 'must not contain U+0000';
  if (!(text as unknown as { isWellFormed(): boolean }).isWellFormed())
    return 'must not contain an unpaired surrogate';
  return null;
}

/**
 * Walks a parsed body without recursion (a hostile body cannot overflow the stack): the first
 * string key or value that is unsafe, a number that overflowed (`1e309` parses as Infinity, which
 * JSON cannot carry on and jsonb would store as null), or nesting deeper than MAX_JSON_DEPTH, is
 * the answer.
 */
export function inspect(value: unknown, root = ''): DomainError | null {
  const stack: { value: unknown; path: string; depth: number }[] = [
    { value, path: root, depth: 0 },
  ];
  while (stack.length > 0) {
    const { value: node, path, depth } = stack.pop()!;
    if (typeof node === 'string') {
      const problem = unsafeStringProblem(node);
      if (problem) return badField(path || 'body', problem);
      continue;
    }
    if (typeof node === 'number') {
      if (!Number.isFinite(node)) return badField(path || 'body', 'must be a finite number');
      continue;
    }
    if (typeof node !== 'object' || node === null) continue;
    if (depth >= MAX_JSON_DEPTH) {
      return new CommonError(
        'bad_request',
        `JSON must not be nested deeper than ${MAX_JSON_DEPTH} levels`,
      );
    }
    if (Array.isArray(node)) {
      for (let i = node.length - 1; i >= 0; i--)
        stack.push({ value: node[i], path: `${path}[${i}]`, depth: depth + 1 });
      continue;
    }
    for (const [key, child] of Object.entries(node)) {
      // Keys are echoed in error messages: a hostile one is cut short there.
      const name = key.length > 64 ? `${key.slice(0, 64)}…` : key;
      const childPath = path ? `${path}.${name}` : name;
      const keyProblem = unsafeStringProblem(key);
      if (keyProblem) return badField(path || 'body', `has a key that ${keyProblem}`);
      stack.push({ value: child, path: childPath, depth: depth + 1 });
    }
  }
  return null;
}

function badField(field: string, problem: string): DomainError {
  return validationFailed([{ field, message: `${field} ${problem}` }]);
}
