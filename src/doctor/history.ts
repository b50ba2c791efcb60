/**
 * Training histories in the three shapes people have: vggkit's history.json (a list of epoch
 * records, optionally under `epochs`, with an optional `stage` per epoch), Keras' CSVLogger CSV
 * (`epoch,accuracy,loss,lr,val_accuracy,val_loss`, `nan` for NaN, the epoch column restarting when
 * a second `fit` appends to the same file) and Keras' `History.history` JSON (one array per metric).
 * Metric aliases (`acc`, `val_acc`, `learning_rate`) map to Keras' current names.
 */
import { readFile } from 'node:fs/promises';
import { VggkitError } from '../util/errors.js';

export interface EpochRecord {
  /** 0-based position in the file. */
  readonly index: number;
  /** The epoch number the log gave (restarts across `fit` calls in Keras CSVs). */
  readonly epoch: number;
  readonly loss?: number;
  readonly accuracy?: number;
  readonly valLoss?: number;
  readonly valAccuracy?: number;
  readonly lr?: number;
  readonly stage?: string;
}

export interface TrainingHistory {
  readonly file: string;
  readonly format: 'vggkit' | 'keras-csv' | 'keras-history';
  readonly epochs: readonly EpochRecord[];
  /** The classes trained on, when the log records them (vggkit's history.json does). */
  readonly classNames?: readonly string[];
}

type Metric = 'loss' | 'accuracy' | 'valLoss' | 'valAccuracy' | 'lr';

const ALIASES: Record<string, Metric> = {
  loss: 'loss',
  accuracy: 'accuracy',
  acc: 'accuracy',
  categorical_accuracy: 'accuracy',
  val_loss: 'valLoss',
  valloss: 'valLoss',
  val_accuracy: 'valAccuracy',
  valaccuracy: 'valAccuracy',
  val_acc: 'valAccuracy',
  val_categorical_accuracy: 'valAccuracy',
  lr: 'lr',
  learning_rate: 'lr',
  learningrate: 'lr',
};

function metricOf(key: string): Metric | undefined {
  return ALIASES[key.trim().toLowerCase()] ?? ALIASES[key.trim().toLowerCase().replace(/_/g, '')];
}

function toNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value !== 'string') return undefined;
  const text = value.trim().toLowerCase();
  if (text === '') return undefined;
  if (text === 'nan' || text === '-nan') return Number.NaN;
  if (text === 'inf' || text === 'infinity') return Infinity;
  if (text === '-inf' || text === '-infinity') return -Infinity;
  const n = Number(text);
  return Number.isNaN(n) ? undefined : n;
}

function historyError(file: string, message: string): VggkitError {
  return new VggkitError('BAD_HISTORY', `${file}: ${message}`, { file });
}

function fromRecords(rows: readonly Record<string, unknown>[], file: string): EpochRecord[] {
  return rows.map((row, index) => {
    const record: { -readonly [K in keyof EpochRecord]: EpochRecord[K] } = {
      index,
      epoch: toNumber(row.epoch) ?? index,
    };
    for (const [key, value] of Object.entries(row)) {
      const metric = metricOf(key);
      if (metric !== undefined) record[metric] = toNumber(value);
    }
    if (typeof row.stage === 'string') record.stage = row.stage;
    else if (typeof row.stage === 'number') record.stage = String(row.stage);
    if (record.loss === undefined && record.valLoss === undefined)
      throw historyError(
        file,
        `epoch record ${index} has no loss (expected keys such as loss, accuracy, val_loss, val_accuracy, lr)`,
      );
    return record;
  });
}

function parseCsv(text: string, file: string): EpochRecord[] {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  if (lines.length < 2)
    throw historyError(file, 'expected a CSV header and at least one epoch row');
  const separator = lines[0].includes(',') ? ',' : lines[0].includes(';') ? ';' : '\t';
  const header = lines[0].split(separator).map((h) => h.trim());
  if (!header.some((h) => metricOf(h) === 'loss' || metricOf(h) === 'valLoss')) {
    throw historyError(
      file,
      `expected a CSVLogger header with a loss column, received "${lines[0]}"`,
    );
  }
  const rows = lines
    .slice(1)
    .map((line) =>
      Object.fromEntries(line.split(separator).map((cell, i) => [header[i] ?? `col${i}`, cell])),
    );
  return fromRecords(rows, file);
}

function parseJson(
  value: unknown,
  file: string,
): { format: TrainingHistory['format']; epochs: EpochRecord[]; classNames?: string[] } {
  if (Array.isArray(value))
    return { format: 'vggkit', epochs: fromRecords(value as Record<string, unknown>[], file) };
  if (value === null || typeof value !== 'object')
    throw historyError(file, 'expected a history object or a list of epoch records');
  const object = value as Record<string, unknown>;
  const names = object.classNames;
  const classNames =
    Array.isArray(names) && names.every((n) => typeof n === 'string')
      ? { classNames: names as string[] }
      : {};
  for (const key of ['epochs', 'history']) {
    if (Array.isArray(object[key]))
      return {
        format: 'vggkit',
        epochs: fromRecords(object[key] as Record<string, unknown>[], file),
        ...classNames,
      };
    if (key === 'history' && object[key] !== null && typeof object[key] === 'object')
      return parseJson(object[key], file);
  }
  const columns = Object.entries(object).filter(
    ([key, v]) => metricOf(key) !== undefined && Array.isArray(v),
  ) as [string, unknown[]][];
  if (
    columns.length === 0 ||
    !columns.some(([k]) => metricOf(k) === 'loss' || metricOf(k) === 'valLoss')
  ) {
    throw historyError(
      file,
      `expected Keras History.history keys (loss, accuracy, val_loss, val_accuracy, lr), received ${Object.keys(object).join(', ') || 'nothing'}`,
    );
  }
  const length = Math.max(...columns.map(([, v]) => v.length));
  const rows = Array.from({ length }, (_, i) =>
    Object.fromEntries(columns.map(([k, v]) => [k, v[i]])),
  );
  return { format: 'keras-history', epochs: fromRecords(rows, file) };
}

export function parseHistory(text: string, file: string): TrainingHistory {
  const trimmed = text.trim();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    let json: unknown;
    try {
      // Python's json.dump writes NaN/Infinity bare; make them parseable.
      json = JSON.parse(
        trimmed
          .replace(/\b-?NaN\b/g, '"nan"')
          .replace(/-Infinity\b/g, '"-inf"')
          .replace(/\bInfinity\b/g, '"inf"'),
      );
    } catch (cause) {
      throw historyError(file, `invalid JSON (${(cause as Error).message})`);
    }
    const parsed = parseJson(json, file);
    return { file, ...parsed };
  }
  return { file, format: 'keras-csv', epochs: parseCsv(text, file) };
}

export async function readHistory(file: string): Promise<TrainingHistory> {
  const text = await readFile(file, 'utf8').catch((cause: unknown) => {
    throw new VggkitError('NOT_FOUND', `${file}: cannot read (${(cause as Error).message})`, {
      file,
      cause,
    });
  });
  const history = parseHistory(text, file);
  if (history.epochs.length === 0) throw historyError(file, 'no epochs recorded');
  return history;
}

/** The values of one metric in epoch order, with the epoch index of each. */
export function series(
  history: TrainingHistory,
  metric: Metric,
): { index: number; value: number }[] {
  return history.epochs.flatMap((e) =>
    e[metric] === undefined ? [] : [{ index: e.index, value: e[metric] as number }],
  );
}
