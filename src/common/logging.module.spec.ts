import { IncomingMessage, ServerResponse } from 'node:http';
import { requestLogLevel } from './logging.module';

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
