/**
 * Reads a run's events.jsonl from a byte offset, in fixed-size chunks, so memory stays bounded
 * however large the log grows. A last line without its newline is a record still being written:
 * it is left for the next read. A complete line that is not a record (a truncated write from a
 * crash, a corrupt byte) is skipped and named, never fatal.
 */
import { open } from 'node:fs/promises';
import { parseEventLine, type EventRecord } from '../train/callbacks/events-log.js';

const CHUNK = 256 * 1024;

export interface TailResult {
  /** Offset after the last complete line read; the next read starts here. */
  readonly offset: number;
  /** 1-based number of the next line. */
  readonly line: number;
  /** Complete lines that were not records, by line number (at most the first few). */
  readonly bad: readonly number[];
  /** Bytes after `offset` not yet ended by a newline (a record being written, or cut off). */
  readonly pending: number;
}

const MAX_BAD_REPORTED = 5;

/**
 * Feeds every record from `offset` on to `onRecord`, a chunk at a time. `line` is the number of the
 * line at `offset` (for naming bad lines). Returns where to continue.
 */
export async function readEvents(
  file: string,
  from: { readonly offset: number; readonly line: number },
  onRecord: (record: EventRecord) => void,
): Promise<TailResult> {
  const handle = await open(file, 'r');
  try {
    const size = (await handle.stat()).size;
    let offset = from.offset > size ? 0 : from.offset;
    let line = from.offset > size ? 1 : from.line;
    const bad: number[] = [];
    let carry = Buffer.alloc(0);
    let position = offset;
    const buffer = Buffer.alloc(CHUNK);
    while (position < size) {
      const { bytesRead } = await handle.read(
        buffer,
        0,
        Math.min(CHUNK, size - position),
        position,
      );
      if (bytesRead === 0) break;
      position += bytesRead;
      const data =
        carry.length === 0
          ? buffer.subarray(0, bytesRead)
          : Buffer.concat([carry, buffer.subarray(0, bytesRead)]);
      let start = 0;
      for (let nl = data.indexOf(10, start); nl !== -1; nl = data.indexOf(10, start)) {
        const text = data.toString('utf8', start, nl);
        if (text.trim() !== '') {
          const record = parseEventLine(text);
          if (record === undefined) {
            if (bad.length < MAX_BAD_REPORTED) bad.push(line);
          } else onRecord(record);
        }
        offset += nl + 1 - start;
        start = nl + 1;
        line++;
      }
      // A single line longer than the chunk keeps growing `carry` until its newline arrives.
      carry = Buffer.from(data.subarray(start));
    }
    return { offset, line, bad, pending: size - offset };
  } finally {
    await handle.close();
  }
}

/**
 * A file's first line and its last `tailBytes` as complete lines (the first, possibly partial,
 * line of the tail dropped), with one open: what a listing needs of a log of any size.
 */
export async function readHeadAndTail(
  file: string,
  tailBytes: number,
  headBytes = 4096,
): Promise<{ first: string; tail: string[] }> {
  const handle = await open(file, 'r');
  try {
    const size = (await handle.stat()).size;
    const read = async (start: number, length: number): Promise<Buffer> => {
      const buffer = Buffer.alloc(length);
      const { bytesRead } = await handle.read(buffer, 0, length, start);
      return buffer.subarray(0, bytesRead);
    };
    let head = await read(0, Math.min(size, headBytes));
    // A first line longer than the head (a thousand class names) is read on to its end.
    while (head.indexOf(10) === -1 && head.length < size)
      head = Buffer.concat([
        head,
        await read(head.length, Math.min(size - head.length, 64 * 1024)),
      ]);
    const nl = head.indexOf(10);
    const first = head.toString('utf8', 0, nl === -1 ? head.length : nl);
    const start = Math.max(0, size - tailBytes);
    const tail = (await read(start, size - start)).toString('utf8').split('\n');
    if (start > 0) tail.shift();
    return { first, tail };
  } finally {
    await handle.close();
  }
}

/**
 * The last line of a file that contains `needle`, searched backwards chunk by chunk without
 * parsing anything. Chunks overlap by 64 KiB, more than any events line, so a line cut by a chunk
 * boundary is whole in the next chunk.
 */
export async function findLastLine(file: string, needle: string): Promise<string | undefined> {
  const OVERLAP = 64 * 1024;
  const handle = await open(file, 'r');
  try {
    const pattern = Buffer.from(needle);
    let end = (await handle.stat()).size;
    for (;;) {
      const start = Math.max(0, end - CHUNK);
      const buffer = Buffer.alloc(end - start);
      await handle.read(buffer, 0, buffer.length, start);
      const at = buffer.lastIndexOf(pattern);
      const from = at === -1 ? -1 : buffer.lastIndexOf(10, at) + 1;
      if (at !== -1 && (from > 0 || start === 0)) {
        const to = buffer.indexOf(10, at);
        return buffer.toString('utf8', from, to === -1 ? buffer.length : to);
      }
      if (start === 0) return undefined;
      end = start + OVERLAP;
    }
  } finally {
    await handle.close();
  }
}
