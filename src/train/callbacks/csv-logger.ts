/**
 * Keras' CSVLogger format: header `epoch` then the log keys sorted, one row per epoch with the
 * 0-based epoch number, floats as Python prints them (`0.5`, `1.0`, `1e-06`, `nan`) and `NA` for a
 * key missing from an epoch's logs, so a Keras user's scripts read the file unchanged.
 *
 * Unlike Keras, the whole file is rewritten atomically after every epoch from rows kept in the
 * callback's state: after a crash the file matches the last checkpoint, and a resumed run does not
 * repeat or lose rows. With `append`, a fresh run keeps the rows of an existing file (Keras'
 * `append=True`) under that file's header.
 */
import { readFile } from 'node:fs/promises';
import { writeFileAtomic, type AtomicWriteOptions } from '../../util/atomic.js';
import type { Callback, EpochEndEvent, FitStartEvent } from '../events.js';

export interface CsvLoggerOptions {
  readonly file: string;
  readonly separator?: string;
  readonly append?: boolean;
  /** How each epoch's rewrite of the file is done (default durable: fsynced). */
  readonly writes?: AtomicWriteOptions;
}

interface CsvLoggerState {
  keys: string[] | undefined;
  rows: string[];
}

/** Python's `repr(float)`: shortest round-trip digits, exponent form below 1e-4 and from 1e16. */
export function pythonFloat(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  const sign = x < 0 || Object.is(x, -0) ? '-' : '';
  const [mantissa, exponentText] = Math.abs(x).toExponential().split('e') as [string, string];
  const digits = mantissa.replace('.', '');
  const exponent = Number(exponentText);
  if (exponent >= -4 && exponent < 16) {
    if (exponent < 0) return `${sign}0.${'0'.repeat(-exponent - 1)}${digits}`;
    const whole = digits.slice(0, exponent + 1).padEnd(exponent + 1, '0');
    const fraction = digits.slice(exponent + 1);
    return `${sign}${whole}.${fraction === '' ? '0' : fraction}`;
  }
  const lead = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
  const magnitude = String(Math.abs(exponent)).padStart(2, '0');
  return `${sign}${lead}e${exponent < 0 ? '-' : '+'}${magnitude}`;
}

export class CSVLogger implements Callback {
  readonly name = 'csv_logger';
  private readonly file: string;
  private readonly separator: string;
  private readonly append: boolean;
  private readonly writes: AtomicWriteOptions;
  private keys: string[] | undefined;
  private rows: string[] = [];
  private restored = false;

  constructor(options: CsvLoggerOptions) {
    this.file = options.file;
    this.separator = options.separator ?? ',';
    this.append = options.append ?? false;
    this.writes = options.writes ?? {};
  }

  async fit_start(_event: FitStartEvent): Promise<void> {
    if (this.restored || !this.append) return;
    const existing = await readFile(this.file, 'utf8').catch(() => '');
    const lines = existing.split(/\r?\n/).filter((line) => line !== '');
    if (lines.length === 0) return;
    this.keys = (lines[0] as string).split(this.separator).slice(1);
    this.rows = lines.slice(1);
  }

  async epoch_end(event: EpochEndEvent): Promise<void> {
    const logs = event.logs as unknown as Readonly<Record<string, number | undefined>>;
    this.keys ??= Object.keys(logs)
      .filter((k) => logs[k] !== undefined)
      .sort();
    const cells = this.keys.map((key) => {
      const value = logs[key];
      return value === undefined ? 'NA' : pythonFloat(value);
    });
    this.rows.push([String(event.epoch), ...cells].join(this.separator));
    const header = ['epoch', ...this.keys].join(this.separator);
    await writeFileAtomic(
      this.file,
      [header, ...this.rows].map((line) => `${line}\r\n`).join(''),
      this.writes,
    );
  }

  getState(): CsvLoggerState {
    return { keys: this.keys === undefined ? undefined : [...this.keys], rows: [...this.rows] };
  }

  setState(state: unknown): void {
    const s = state as CsvLoggerState;
    this.keys = s.keys === undefined ? undefined : [...s.keys];
    this.rows = [...s.rows];
    this.restored = true;
  }
}
