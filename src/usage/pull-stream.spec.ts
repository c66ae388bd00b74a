import { PassThrough, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pullStream } from './pull-stream';

/** A source of `chunks` that records what was read and how it was closed. */
function source(chunks: string[], failAt?: number) {
  const state = { reads: 0, closes: [] as (Error | null)[] };
  const stream = pullStream(
    async () => {
      const index = state.reads++;
      if (index === failAt) throw new Error('read failed');
      return index < chunks.length ? chunks[index] : null;
    },
    async (error) => {
      state.closes.push(error);
    },
  );
  return { stream, state };
}

async function collect(stream: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  await pipeline(
    stream,
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        text += chunk.toString();
        done();
      },
    }),
  );
  return text;
}

describe('pullStream', () => {
  it('streams every chunk in order and closes once, without an error, at the end', async () => {
    const { stream, state } = source(['a', 'b', '', 'c']);
    expect(await collect(stream)).toBe('abc');
    expect(state.closes).toEqual([null]);
  });

  it('reads nothing until asked, and no further ahead than the consumer takes', async () => {
    const chunks = Array.from({ length: 1000 }, () => 'x'.repeat(1024));
    const { stream, state } = source(chunks);
    await new Promise((resolve) => setImmediate(resolve));
    expect(state.reads).toBe(0);
    const slow = new PassThrough({ highWaterMark: 1024 });
    stream.pipe(slow);
    await new Promise((resolve) => setTimeout(resolve, 20));
    // Nobody reads `slow`: the pipe stops after about two high-water marks' worth.
    expect(state.reads).toBeLessThan(100);
    stream.destroy();
    await new Promise((resolve) => setImmediate(resolve));
    expect(state.closes).toHaveLength(1);
  });

  it('closes with the error when a read fails, and fails the pipeline', async () => {
    const { stream, state } = source(['a', 'b', 'c'], 1);
    await expect(collect(stream)).rejects.toThrow('read failed');
    expect(state.closes).toHaveLength(1);
    expect(state.closes[0]?.message).toBe('read failed');
  });

  it('closes when the consumer goes away mid-stream', async () => {
    const { stream, state } = source(Array.from({ length: 100 }, () => 'chunk'));
    let written = 0;
    const flaky = new Writable({
      write(_chunk, _encoding, done) {
        if (++written === 3) done(new Error('client went away'));
        else done();
      },
    });
    await expect(pipeline(stream, flaky)).rejects.toThrow('client went away');
    expect(state.closes).toHaveLength(1);
    expect(state.reads).toBeLessThan(100);
  });
});
