/**
 * Every request of the soak goes through `Traffic.send`: it picks the instance (round-robin
 * unless told), times the whole exchange, judges the answer and files it in its minute. An
 * answer is `ok`, `limited` (a 429 the soak asked for) or an error: any 5xx, connection error,
 * timeout, or status or body other than the one expected.
 */
import { percentile } from './stats';

export type Verdict = 'ok' | 'limited' | { error: string };

export interface Answer {
  status: number;
  body: unknown;
}

/** Statistics of one minute of load (or of the whole run). */
export interface MinuteStats {
  minute: number;
  requests: number;
  errors: number;
  limited: number;
  p50: number;
  p99: number;
  max: number;
}

const ERROR_SAMPLES = 20;
/** Generous: a request slower than this at a moderate rate is a fault, not a latency. */
const TIMEOUT_MS = 10_000;

class Bucket {
  readonly latencies: number[] = [];
  errors = 0;
  limited = 0;

  stats(minute: number): MinuteStats {
    return {
      minute,
      requests: this.latencies.length,
      errors: this.errors,
      limited: this.limited,
      p50: percentile(this.latencies, 50),
      p99: percentile(this.latencies, 99),
      max: percentile(this.latencies, 100),
    };
  }
}

export class Traffic {
  readonly started = performance.now();
  private next = 0;
  private readonly buckets: Bucket[] = [];
  private readonly kinds = new Map<string, Bucket>();
  /** Each kind of error (what, status, message) with its count and first minute, for the report. */
  private readonly errorKinds = new Map<string, { count: number; minute: number }>();

  /** `bases`: the instances' URLs; `minutes`: how long the load lasts. */
  constructor(
    private readonly bases: readonly string[],
    private readonly minutes: number,
  ) {}

  /**
   * The minute (from 0) in which the run is now; the last answers, which arrive just after the
   * load ends, belong to the last minute rather than to a stub of one more.
   */
  minuteNow(): number {
    const minute = Math.floor((performance.now() - this.started) / 60_000);
    return Math.min(minute, Math.ceil(this.minutes) - 1);
  }

  /** The index of the next instance in turn. */
  pick(): number {
    return this.next++ % this.bases.length;
  }

  /** Files an error that no answer carried (a backlog, a missing delivery). */
  fault(kind: string, text: string): void {
    this.file(kind, NaN, { error: text });
  }

  /**
   * One request to instance `instance` (the next in turn when undefined); `judge` says what the
   * answer is worth. Resolves to the answer, or undefined on a connection error or timeout.
   */
  async send(
    kind: string,
    instance: number | undefined,
    method: string,
    path: string,
    init: { headers?: Record<string, string>; body?: unknown; token?: string },
    judge: (answer: Answer) => Verdict,
  ): Promise<Answer | undefined> {
    const index = instance ?? this.pick();
    const headers: Record<string, string> = { ...init.headers };
    if (init.token) headers.authorization = `Bearer ${init.token}`;
    if (init.body !== undefined) headers['content-type'] = 'application/json';
    const start = performance.now();
    try {
      const res = await fetch(this.bases[index] + path, {
        method,
        headers,
        body: init.body === undefined ? undefined : JSON.stringify(init.body),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
      const text = await res.text();
      const answer = { status: res.status, body: parse(text) };
      const verdict = res.status >= 500 ? { error: text.slice(0, 200) } : judge(answer);
      this.file(kind, performance.now() - start, verdict, `#${index + 1} ${method} ${path}`, res);
      return answer;
    } catch (error) {
      const cause = (error as Error & { cause?: Error }).cause?.message;
      const text = `${(error as Error).message}${cause ? ` (${cause})` : ''}`;
      this.file(
        kind,
        performance.now() - start,
        { error: text },
        `#${index + 1} ${method} ${path}`,
      );
      return undefined;
    }
  }

  /** Up to 20 kinds of error, most frequent first. */
  errorSamples(): string[] {
    return [...this.errorKinds]
      .sort((a, b) => b[1].count - a[1].count)
      .map(([text, { count, minute }]) => `${count}× ${text} (first in minute ${minute + 1})`);
  }

  minuteStats(): MinuteStats[] {
    return this.buckets.map((bucket, i) => bucket.stats(i + 1));
  }

  kindStats(): Record<string, MinuteStats> {
    return Object.fromEntries([...this.kinds].map(([kind, b]) => [kind, b.stats(0)]));
  }

  totals(): MinuteStats {
    const all = new Bucket();
    for (const b of this.buckets.filter(Boolean)) {
      for (const latency of b.latencies) all.latencies.push(latency);
      all.errors += b.errors;
      all.limited += b.limited;
    }
    return all.stats(0);
  }

  private file(kind: string, ms: number, verdict: Verdict, what = kind, res?: Response): void {
    const minute = this.minuteNow();
    this.buckets[minute] ??= new Bucket();
    const kindBucket = this.kinds.get(kind) ?? new Bucket();
    this.kinds.set(kind, kindBucket);
    for (const bucket of [this.buckets[minute], kindBucket]) {
      if (!Number.isNaN(ms)) bucket.latencies.push(ms);
      if (verdict === 'limited') bucket.limited++;
      else if (verdict !== 'ok') bucket.errors++;
    }
    if (typeof verdict !== 'object') return;
    const text = `${kind}: ${what}: ${res ? `${res.status} ` : ''}${verdict.error}`;
    const seen = this.errorKinds.get(text);
    if (seen) seen.count++;
    else if (this.errorKinds.size < ERROR_SAMPLES) this.errorKinds.set(text, { count: 1, minute });
  }
}

function parse(text: string): unknown {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return text;
  }
}

/** The common judgement: `status` is ok; 429 `code` is limited when given; all else an error. */
export function expect<B>(status: number, check?: (body: B) => string | undefined) {
  return (answer: Answer): Verdict => {
    if (answer.status !== status)
      return { error: `expected ${status}: ${JSON.stringify(answer.body).slice(0, 200)}` };
    const problem = check?.(answer.body as B);
    return problem ? { error: problem } : 'ok';
  };
}
