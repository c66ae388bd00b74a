import { Readable } from 'node:stream';

/**
 * A text stream pulled from `next` one chunk at a time (null at the end), so that nothing is read
 * before the consumer asks for it: memory stays flat however long the stream, and a slow client
 * slows the reads down (backpressure).
 *
 * `close` runs exactly once on every path — the end, a failed read, or the consumer destroying
 * the stream (an HTTP client that went away) — with the error if there was one, and the stream
 * is only finished once it has, so whatever `next` reads from (a database cursor) is released.
 */
export function pullStream(
  next: () => Promise<string | null>,
  close: (error: Error | null) => Promise<void>,
): Readable {
  let reading = false;
  return new Readable({
    read() {
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
          this.push(chunk);
        },
        (error: Error) => this.destroy(error),
      );
    },
    destroy(error, callback) {
      close(error).then(
        () => callback(error),
        (closeError: Error) => callback(error ?? closeError),
      );
    },
  });
}
