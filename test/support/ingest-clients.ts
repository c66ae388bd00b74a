import { Agent, IncomingMessage, request } from 'node:http';
import { conformsToOpenApi } from './openapi-validator';

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** Reads a whole JSON answer. */
export function readAnswer(res: IncomingMessage): Promise<Answer> {
  return new Promise((resolve, reject) => {
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => (text += chunk));
    res.on('end', () =>
      resolve({ status: res.statusCode!, headers: res.headers, body: JSON.parse(text || '{}') }),
    );
    res.on('error', reject);
  });
}

/** One JSON POST over `agent` (a keep-alive one, as SDKs use): its answer, or the socket error. */
export function postJson(
  url: string,
  headers: Record<string, string>,
  body: unknown,
  agent?: Agent,
): Promise<Answer> {
  const payload = Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        agent,
        headers: {
          ...headers,
          'content-type': 'application/json',
          'content-length': payload.length,
        },
      },
      (res) =>
        readAnswer(res)
          .then((answer) => {
            // Checked against openapi.json, as every answer the suite sees.
            conformsToOpenApi('post', url)(answer);
            return answer;
          })
          .then(resolve, reject),
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** A batch of `POST /v1/events` as one client sent it, and what came of it. */
export interface SentBatch {
  ids: string[];
  /** The HTTP status, or the socket error's code (the answer never came). */
  outcome: number | string;
}

/**
 * `clients` programs ingesting usage at once, each over its own keep-alive connection, each
 * sending batches of `batchSize` events with ids never used before, one batch after the other,
 * until the server refuses connections (it is gone).
 */
export class IngestClients {
  readonly batches: SentBatch[] = [];
  /** Every client has stopped (the server went away). */
  private done = false;
  private readonly running: Promise<void>[];
  private readonly agents: Agent[];
  private serial = 0;

  constructor(
    private readonly url: string,
    private readonly key: string,
    { clients = 6, batchSize = 20, prefix = 'load' } = {},
  ) {
    this.agents = Array.from(
      { length: clients },
      () => new Agent({ keepAlive: true, maxSockets: 1 }),
    );
    this.running = this.agents.map((agent, c) => this.run(agent, `${prefix}-${c}`, batchSize));
    void Promise.all(this.running).then(() => {
      this.done = true;
      this.agents.forEach((agent) => agent.destroy());
    });
  }

  /** Ids answered 202: acknowledged as durable. */
  get acknowledged(): string[] {
    return this.batches.filter((b) => b.outcome === 202).flatMap((b) => b.ids);
  }

  /** Resolves once `count` events are acknowledged. */
  async whenAcknowledged(count: number): Promise<void> {
    while (this.acknowledged.length < count) {
      if (this.done) throw new Error('The server went away first');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Resolves when every client has stopped (the server went away). */
  async finished(): Promise<SentBatch[]> {
    await Promise.all(this.running);
    return this.batches;
  }

  private async run(agent: Agent, client: string, batchSize: number): Promise<void> {
    for (;;) {
      const ids = Array.from({ length: batchSize }, () => `${client}-${this.serial++}`);
      const batch: SentBatch = { ids, outcome: 'pending' };
      this.batches.push(batch);
      try {
        const res = await postJson(
          `${this.url}/v1/events`,
          { 'x-api-key': this.key },
          { events: ids.map((id) => ({ id, type: 'api_calls' })) },
          agent,
        );
        batch.outcome = res.status;
      } catch (error) {
        batch.outcome = (error as NodeJS.ErrnoException).code ?? String(error);
        if (batch.outcome === 'ECONNREFUSED') return;
      }
    }
  }
}
