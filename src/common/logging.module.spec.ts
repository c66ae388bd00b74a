import { createServer, IncomingMessage, ServerResponse } from 'node:http';
import { Request } from 'express';
import { pino } from 'pino';
import supertest from 'supertest';
import {
  REDACTED_PATHS,
  requestIdMiddleware,
  requestLogging,
  requestLogLevel,
} from './logging.module';

const request = (url: string) => ({ url }) as IncomingMessage;
const response = (statusCode: number) => ({ statusCode }) as ServerResponse;

describe('requestLogLevel', () => {
  it('keeps health probes out of info, unless they fail', () => {
    expect(requestLogLevel(request('/health'), response(200))).toBe('debug');
    expect(requestLogLevel(request('/health/ready?x=1'), response(200))).toBe('debug');
    expect(requestLogLevel(request('/health/ready'), response(503))).toBe('error');
  });

  it('writes requests at info, refusals at warn and failures at error', () => {
    expect(requestLogLevel(request('/v1/ping'), response(200))).toBe('info');
    expect(requestLogLevel(request('/healthz'), response(200))).toBe('info');
    expect(requestLogLevel(request('/v1/ping'), response(429))).toBe('warn');
    expect(requestLogLevel(request('/v1/ping'), response(500))).toBe('error');
    expect(requestLogLevel(request('/v1/ping'), response(200), new Error('x'))).toBe('error');
  });
});

describe('requestLogging', () => {
  /** A logger at `level` whose lines are collected, and a server logging through it. */
  function loggedServer(level: string, answer: (res: ServerResponse) => void) {
    const lines: Record<string, unknown>[] = [];
    const logger = pino(
      { level, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } },
      { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) },
    );
    const log = requestLogging(logger);
    const server = createServer((req, res) => {
      requestIdMiddleware(req, res, () => log(req as Request, res, () => answer(res)));
    });
    return { lines, server };
  }
  const ok = (res: ServerResponse) => res.end('{}');
  const missing = (res: ServerResponse) => {
    res.statusCode = 404;
    res.end('{}');
  };
  /** The 'close' listeners run on the next tick after the answer. */
  const settle = () => new Promise((resolve) => setImmediate(resolve));

  it('writes one line per answered request, with no header in it', async () => {
    const { lines, server } = loggedServer('info', ok);
    await supertest(server).get('/v1/ping?x=1').set('x-api-key', 'sk_live_secret').expect(200);
    await settle();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 30,
      context: 'HTTP',
      msg: 'request completed',
      req: { method: 'GET', url: '/v1/ping?x=1' },
      res: { statusCode: 200 },
    });
    expect(typeof (lines[0].req as { id: unknown }).id).toBe('string');
    expect(typeof lines[0].responseTime).toBe('number');
    expect(JSON.stringify(lines)).not.toContain('sk_live_secret');
  });

  it("names the request by the caller's X-Request-Id, the one its answer echoes", async () => {
    const { lines, server } = loggedServer('info', ok);
    await supertest(server)
      .get('/v1/ping')
      .set('x-request-id', 'order-4711.retry-2')
      .expect('x-request-id', 'order-4711.retry-2');
    await settle();
    expect(lines).toMatchObject([{ req: { id: 'order-4711.retry-2' } }]);
  });

  it('writes nothing below its level: probes at info, successes at warn', async () => {
    const info = loggedServer('info', ok);
    await supertest(info.server).get('/health').expect(200);
    const warn = loggedServer('warn', ok);
    await supertest(warn.server).get('/v1/ping').expect(200);
    await settle();
    expect(info.lines).toEqual([]);
    expect(warn.lines).toEqual([]);
  });

  it('writes refusals at warn', async () => {
    const { lines, server } = loggedServer('warn', missing);
    await supertest(server).get('/nowhere').expect(404);
    await settle();
    expect(lines).toMatchObject([{ level: 40, res: { statusCode: 404 } }]);
  });

  it('writes a request the client gave up on as aborted', async () => {
    const { lines, server } = loggedServer('info', () => undefined);
    await expect(supertest(server).get('/v1/slow').timeout(100)).rejects.toThrow();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(lines).toMatchObject([{ msg: 'request aborted', req: { url: '/v1/slow' } }]);
  });

  it('adds nothing to a request when the logger is silent', () => {
    const logger = pino({ level: 'silent' });
    const res = { on: jest.fn() } as unknown as ServerResponse;
    const next = jest.fn();
    requestLogging(logger)({} as Request, res, next);
    expect(next).toHaveBeenCalled();
    expect(res.on).not.toHaveBeenCalled();
  });
});
