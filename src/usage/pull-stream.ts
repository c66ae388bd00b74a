import { Readable } from 'node:stream';

/** The consumer stopped reading for longer than it may. */
export class IdleConsumerError extends Error {
  constructor(idleMs: number) {
    super(`The consumer read nothing for ${idleMs} ms`);
  }
}

/**
 * A text stream pulled from `next` one chunk at a time (null at the end), so that nothing is read
 * before the consumer asks for it: memory stays flat however long the stream, and a slow client
 * slows the reads down (backpressure).
 *
 * A consumer that asks for nothing more for `idleMs` is given up on: the stream is destroyed with
 * an IdleConsumerError (an HTTP client that stopped reading is cut off).
 *
 * `close` runs exactly once on every path — the end, a failed read, an idle consumer, or the
 * consumer destroying the stream (an HTTP client that went away) — with the error if there was
 * one, and the stream is only finished once it has, so whatever `next` holds is released.
 */
export function pullStream(
  next: () => Promise<string | null>,
  close: (error: Error | null) => Promise<void>,
  options: { idleMs?: number } = {},
): Readable {
  let reading = false;
  let idle: NodeJS.Timeout | undefined;
  const watch = (stream: Readable) => {
    if (!options.idleMs) return;
    clearTimeout(idle);
    idle = setTimeout(() => stream.destroy(new IdleConsumerError(options.idleMs!)), options.idleMs);
    idle.unref();
  };
  const stream = new Readable({
    read() {
      watch(this);
      if (reading) return;
      reading = true;
      const pull = async (): Promise<string | null> => {
        // An empty chunk would read as "nothing yet" and stall the stream.
        for (;;) {
          const chunk = await next();
          if (chunk === null || chunk.length > 0) return chunk;
        }
      };
      pull().then(
        (chunk) => {
          reading = false;
          if (chunk === null) clearTimeout(idle);
          // The next call to read() is the consumer's: the idle clock runs from here.
          else watch(this);
          this.push(chunk);
        },
        (error: Error) => this.destroy(error),
      );
    },
    destroy(error, callback) {
      clearTimeout(idle);
      close(error).then(
        () => callback(error),
        (closeError: Error) => callback(error ?? closeError),
      );
    },
  });
  stream.once('end', () => clearTimeout(idle));
  return stream;
}
