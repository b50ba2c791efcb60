/**
 * Training logs as people have them — the one reader of `doctor --history`. Shapes read:
 *
 * - vggkit's history.json (src/train/fit.ts `historyJson`): `{classNames, epochs: [{epoch, stage,
 *   loss, accuracy, val_loss, val_accuracy, lr}]}`, or a bare list of epoch records.
 * - Keras' CSVLogger (keras/src/callbacks/csv_logger.py): a header `epoch` + `sorted(logs.keys())`
 *   (so columns are alphabetical), rows in the csv.excel dialect (`\r\n`; Windows text mode makes
 *   that `\r\r\n`), `nan` for NaN and `NA` for a key an epoch lacked. With `append=True` a later
 *   `fit()` adds its rows under the same header and its epoch column starts again at 0 (or at
 *   `initial_epoch`): each such run becomes a stage `fit 1`, `fit 2`, … A header overwritten with
 *   NUL bytes (a file preallocated and never flushed) is rebuilt from CSVLogger's sorted column
 *   order when the row width makes it unambiguous, and the assumption is reported in `notes`.
 * - Keras' `History.history` dumped as JSON: one array per metric (Python's json writes NaN bare).
 * - pandas dumps of that dict: `to_csv` (a first, unnamed index column; or no epoch column at
 *   all) and `to_json` (default orient "columns": `{"loss": {"0": …, "1": …}}` with string
 *   indices; also orients "index", "records" and "split").
 *
 * Metric names vary across Keras versions (`acc`/`val_acc` before 2.3, `accuracy`, explicit
 * `categorical_accuracy`/`binary_accuracy`, `lr` in Keras 2 and `learning_rate` in Keras 3); all map
 * to one vocabulary, and the accuracy column's own name is kept (`accuracyName`) because a
 * `binary_accuracy` on a multi-class model reads far better than it is.
 *
 * An epoch in which every training metric is exactly 0 ran no training batch (a generator or a
 * `tf.data` pipeline that ran out of data: Keras then logs zeros); it is kept as a position with
 * `empty: true` and no metrics, so the curves are not read as dropping to zero.
 *
 * Several logs (`--history` given more than once, phase 1 then phase 2 of a fine-tune) join into
 * one history whose stages are `phase 1`, `phase 2`, … (`combineHistories`).
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { unreadableInput, type VggkitError } from '../util/errors.js';

export interface EpochRecord {
  /** 0-based position in the (combined) log. */
  readonly index: number;
  /** The epoch number the log gave (restarts across `fit` calls in Keras CSVs). */
  readonly epoch: number;
  readonly loss?: number;
  readonly accuracy?: number;
  readonly valLoss?: number;
  readonly valAccuracy?: number;
  readonly lr?: number;
  readonly stage?: string;
  /** No training batch ran in this epoch (every training metric logged as 0); no metrics kept. */
  readonly empty?: true;
}

export type HistoryFormat =
  'vggkit' | 'keras-csv' | 'keras-history' | 'pandas-csv' | 'pandas-json' | 'combined';

/** Where one input file's epochs sit in a combined history. */
export interface HistorySource {
  readonly file: string;
  readonly format: Exclude<HistoryFormat, 'combined'>;
  readonly first: number;
  readonly last: number;
}

export interface TrainingHistory {
  /** The file read, or the files joined (`a.json then b.json`) for a combined history. */
  readonly file: string;
  readonly format: HistoryFormat;
  readonly epochs: readonly EpochRecord[];
  /** The classes trained on, when the log records them (vggkit's history.json does). */
  readonly classNames?: readonly string[];
  /** The log's own name of the training accuracy column (`acc`, `accuracy`, `binary_accuracy`, …). */
  readonly accuracyName?: string;
  /** What the reader had to repair or assume, one sentence each; the doctor reports them. */
  readonly notes?: readonly string[];
  /** The input files of a combined history, in order. */
  readonly sources?: readonly HistorySource[];
}

type Metric = 'loss' | 'accuracy' | 'valLoss' | 'valAccuracy' | 'lr';

/** Column name -> metric, with a rank: when two columns map to one metric, the lower rank wins. */
const ALIASES: Record<string, { metric: Metric; rank: number }> = {
  loss: { metric: 'loss', rank: 0 },
  accuracy: { metric: 'accuracy', rank: 0 },
  acc: { metric: 'accuracy', rank: 0 },
  categorical_accuracy: { metric: 'accuracy', rank: 1 },
  sparse_categorical_accuracy: { metric: 'accuracy', rank: 1 },
  binary_accuracy: { metric: 'accuracy', rank: 2 },
  val_loss: { metric: 'valLoss', rank: 0 },
  val_accuracy: { metric: 'valAccuracy', rank: 0 },
  val_acc: { metric: 'valAccuracy', rank: 0 },
  val_categorical_accuracy: { metric: 'valAccuracy', rank: 1 },
  val_sparse_categorical_accuracy: { metric: 'valAccuracy', rank: 1 },
  val_binary_accuracy: { metric: 'valAccuracy', rank: 2 },
  lr: { metric: 'lr', rank: 0 },
  learning_rate: { metric: 'lr', rank: 0 },
};

/** Keys that number the epochs rather than measure them: `epoch`, pandas' unnamed index. */
const INDEX_KEYS = new Set(['epoch', 'epochs', '', 'index', 'unnamed: 0']);

function aliasOf(key: string): { metric: Metric; rank: number } | undefined {
  const k = key.trim().toLowerCase();
  return ALIASES[k] ?? ALIASES[k.replace(/[\s-]/g, '_')];
}

function toNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  // pandas writes NaN as null in to_json.
  if (value === null) return Number.NaN;
  if (typeof value !== 'string') return undefined;
  const text = value.trim().toLowerCase().replace(/^"|"$/g, '');
  if (text === '' || text === 'na') return undefined;
  if (text === 'nan' || text === '-nan') return Number.NaN;
  if (text === 'inf' || text === 'infinity') return Infinity;
  if (text === '-inf' || text === '-infinity') return -Infinity;
  const n = Number(text);
  return Number.isNaN(n) ? undefined : n;
}

/** A log the doctor cannot read is bad input, not a finding: exit 2, apart from the doctor's 1 for errors found. */
function historyError(file: string, message: string): VggkitError {
  return unreadableInput('BAD_HISTORY', `${file}: ${message}`, { file });
}

const EXPECTED_KEYS = 'keys such as loss, accuracy, val_loss, val_accuracy, lr';

/** Which column feeds each metric (the best-ranked alias present), and the accuracy's own name. */
function columnsFor(keys: readonly string[]): {
  columns: Map<Metric, string>;
  accuracyName?: string;
} {
  const columns = new Map<Metric, string>();
  const ranks = new Map<Metric, number>();
  for (const key of keys) {
    const alias = aliasOf(key);
    if (alias === undefined) continue;
    if ((ranks.get(alias.metric) ?? Infinity) <= alias.rank) continue;
    columns.set(alias.metric, key);
    ranks.set(alias.metric, alias.rank);
  }
  const accuracy = columns.get('accuracy') ?? columns.get('valAccuracy')?.replace(/^val_/i, '');
  return accuracy === undefined
    ? { columns }
    : { columns, accuracyName: accuracy.trim().toLowerCase() };
}

interface Parsed {
  readonly format: Exclude<HistoryFormat, 'combined'>;
  readonly epochs: EpochRecord[];
  readonly classNames?: string[];
  readonly accuracyName?: string;
  readonly notes: string[];
}

function fromRows(
  rows: readonly Record<string, unknown>[],
  file: string,
  format: Parsed['format'],
  notes: string[] = [],
): Parsed {
  if (rows.length === 0) throw historyError(file, 'no epochs recorded');
  const keys = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const { columns, accuracyName } = columnsFor(keys);
  if (!columns.has('loss') && !columns.has('valLoss'))
    throw historyError(
      file,
      `expected a loss column (${EXPECTED_KEYS}), received ${keys.map((k) => k || '(unnamed)').join(', ') || 'nothing'}`,
    );
  const indexKey = keys.find((k) => INDEX_KEYS.has(k.trim().toLowerCase()));
  const epochs = rows.map((row, index) => {
    const record: { -readonly [K in keyof EpochRecord]: EpochRecord[K] } = {
      index,
      epoch: (indexKey === undefined ? undefined : toNumber(row[indexKey])) ?? index,
    };
    for (const [metric, key] of columns) {
      const value = toNumber(row[key]);
      if (value !== undefined) record[metric] = value;
    }
    if (typeof row.stage === 'string') record.stage = row.stage;
    else if (typeof row.stage === 'number') record.stage = String(row.stage);
    return record;
  });
  const missing = epochs.find((e) => e.loss === undefined && e.valLoss === undefined);
  if (missing !== undefined)
    throw historyError(
      file,
      `epoch record ${missing.index} has no loss (expected ${EXPECTED_KEYS})`,
    );
  return {
    format,
    epochs: markFits(markEmpty(epochs)),
    ...(accuracyName === undefined ? {} : { accuracyName }),
    notes,
  };
}

/** An epoch whose training metrics are all exactly 0 trained on nothing: keep its place, drop its numbers. */
function markEmpty(epochs: EpochRecord[]): EpochRecord[] {
  const empty = (e: EpochRecord): boolean =>
    e.loss === 0 && (e.accuracy === undefined || e.accuracy === 0);
  if (!epochs.some(empty)) return epochs;
  return epochs.map((e) =>
    empty(e)
      ? {
          index: e.index,
          epoch: e.epoch,
          ...(e.lr === undefined ? {} : { lr: e.lr }),
          ...(e.stage === undefined ? {} : { stage: e.stage }),
          empty: true,
        }
      : e,
  );
}

/** Keras CSVLogger(append=True): each restart of the epoch column is a new fit(), named as a stage. */
function markFits(epochs: EpochRecord[]): EpochRecord[] {
  if (epochs.some((e) => e.stage !== undefined)) return epochs;
  let fit = 1;
  const fits = epochs.map((e, i) => {
    if (i > 0 && e.epoch <= (epochs[i - 1] as EpochRecord).epoch) fit++;
    return fit;
  });
  if (fit === 1) return epochs;
  return epochs.map((e, i) => ({ ...e, stage: `fit ${fits[i]}` }));
}

/** RFC 4180 fields: quotes, doubled quotes, separators inside quotes. */
function splitCsvLine(line: string, separator: string): string[] {
  const cells: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i] as string;
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === separator) {
      cells.push(cell.trim());
      cell = '';
    } else cell += ch;
  }
  cells.push(cell.trim());
  return cells;
}

const isNumeric = (cell: string): boolean => toNumber(cell) !== undefined;

/**
 * The header of a CSVLogger file whose first line was lost (NUL bytes), from the row width:
 * CSVLogger writes `epoch` then the sorted keys, so 5 cells are epoch,accuracy,loss,val_accuracy,
 * val_loss, and 6 add the rate — `learning_rate` (Keras 3, sorted before `loss`) or `lr` (Keras 2,
 * after it), told apart by which column holds a positive value that stays put across epochs.
 * Other widths name too many possible key sets to guess.
 */
function rebuiltHeader(rows: readonly string[][]): string[] | undefined {
  const width = rows[0]?.length;
  if (width === 5) return ['epoch', 'accuracy', 'loss', 'val_accuracy', 'val_loss'];
  if (width !== 6) return undefined;
  const rateLike = (column: number): boolean => {
    const values = rows.map((r) => toNumber(r[column]) ?? Number.NaN);
    const distinct = new Set(values).size;
    return values.every((v) => v > 0 && v <= 1) && distinct <= Math.max(2, rows.length / 2);
  };
  if (rateLike(2) && !rateLike(3))
    return ['epoch', 'accuracy', 'learning_rate', 'loss', 'val_accuracy', 'val_loss'];
  if (rateLike(3) && !rateLike(2))
    return ['epoch', 'accuracy', 'loss', 'lr', 'val_accuracy', 'val_loss'];
  return undefined;
}

function parseCsv(text: string, file: string): Parsed {
  const notes: string[] = [];
  const nul = text.includes('\0');
  const lines = text
    .replace(/\0/g, '')
    .split(/\r*\n|\r/)
    .filter((l) => l.trim() !== '');
  if (lines.length < 1)
    throw historyError(file, 'expected a CSV header and at least one epoch row');
  const first = lines[0] as string;
  const separator = first.includes(',') ? ',' : first.includes(';') ? ';' : '\t';
  let header = splitCsvLine(first, separator);
  let body = lines.slice(1).map((l) => splitCsvLine(l, separator));
  if (header.every(isNumeric)) {
    const cells = [header, ...body];
    const rebuilt = rebuiltHeader(cells);
    if (rebuilt === undefined)
      throw historyError(
        file,
        `the first line is not a header (${nul ? 'it was overwritten with NUL bytes' : 'it holds numbers'}) and ${header.length} columns could be several CSVLogger layouts; add the header line (e.g. epoch,accuracy,loss,val_accuracy,val_loss)`,
      );
    notes.push(
      `the header line ${nul ? 'was overwritten with NUL bytes' : 'is missing'}; read the ${header.length} columns as CSVLogger writes them: ${rebuilt.join(',')}`,
    );
    header = rebuilt;
    body = cells;
  }
  if (body.length === 0)
    throw historyError(file, 'expected at least one epoch row under the header');
  const sameAsHeader = (cells: string[]): boolean => cells.join(',') === header.join(',');
  const rows: Record<string, unknown>[] = [];
  let skipped = 0;
  for (const cells of body) {
    // A header repeated mid-file: a second log was concatenated; its rows follow as another run.
    if (sameAsHeader(cells)) continue;
    if (cells.length !== header.length) {
      skipped++;
      continue;
    }
    rows.push(Object.fromEntries(header.map((h, i) => [h, cells[i]])));
  }
  if (skipped > 0)
    notes.push(`${skipped} row(s) with a different number of cells than the header were skipped`);
  if (rows.length === 0)
    throw historyError(
      file,
      `no row has the header's ${header.length} cells (${header.join(',')})`,
    );
  const format = header.some((h) => h.trim().toLowerCase() === 'epoch')
    ? 'keras-csv'
    : 'pandas-csv';
  return fromRows(rows, file, format, notes);
}

const isIndexKey = (k: string): boolean => /^\d+$/.test(k);
const byIndex = (a: string, b: string): number => Number(a) - Number(b);

/** `{metric: [values]}` (History.history) or `{metric: {"0": v, …}}` (pandas to_json, orient "columns"). */
function fromColumns(object: Record<string, unknown>, file: string): Parsed | undefined {
  const columns = Object.entries(object).flatMap(([key, value]): [string, unknown[]][] => {
    if (Array.isArray(value)) return [[key, value]];
    if (value !== null && typeof value === 'object') {
      const cells = value as Record<string, unknown>;
      const keys = Object.keys(cells);
      if (keys.length > 0 && keys.every(isIndexKey))
        return [[key, keys.sort(byIndex).map((k) => cells[k])]];
    }
    return [];
  });
  if (!columns.some(([k]) => aliasOf(k)?.metric === 'loss' || aliasOf(k)?.metric === 'valLoss'))
    return undefined;
  const pandas = columns.some(([k]) => !Array.isArray(object[k]));
  const length = Math.max(...columns.map(([, v]) => v.length));
  const rows = Array.from({ length }, (_, i) =>
    Object.fromEntries(columns.flatMap(([k, v]) => (i < v.length ? [[k, v[i]]] : []))),
  );
  return fromRows(rows, file, pandas ? 'pandas-json' : 'keras-history');
}

function isRecordList(value: unknown): value is Record<string, unknown>[] {
  return (
    Array.isArray(value) &&
    value.every((v) => v !== null && typeof v === 'object' && !Array.isArray(v))
  );
}

function parseJson(value: unknown, file: string): Parsed {
  if (isRecordList(value)) return fromRows(value, file, 'vggkit');
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw historyError(file, 'expected a history object or a list of epoch records');
  const object = value as Record<string, unknown>;
  const names = object.classNames;
  const classNames =
    Array.isArray(names) && names.every((n) => typeof n === 'string')
      ? (names as string[])
      : undefined;
  const withNames = (parsed: Parsed): Parsed =>
    classNames === undefined ? parsed : { ...parsed, classNames };
  for (const key of ['epochs', 'history']) {
    const inner = object[key];
    if (isRecordList(inner)) return withNames(fromRows(inner, file, 'vggkit'));
    if (key === 'history' && inner !== null && typeof inner === 'object')
      return withNames(parseJson(inner, file));
  }
  // pandas to_json(orient="split").
  if (Array.isArray(object.columns) && Array.isArray(object.data)) {
    const header = (object.columns as unknown[]).map(String);
    const rows = (object.data as unknown[])
      .filter(Array.isArray)
      .map((cells) => Object.fromEntries(header.map((h, i) => [h, (cells as unknown[])[i]])));
    return fromRows(rows, file, 'pandas-json');
  }
  // pandas to_json(orient="index"): {"0": {"loss": …}, "1": {…}}.
  const keys = Object.keys(object);
  if (keys.length > 0 && keys.every(isIndexKey) && isRecordList(Object.values(object)))
    return fromRows(
      keys.sort(byIndex).map((k) => object[k] as Record<string, unknown>),
      file,
      'pandas-json',
    );
  const columns = fromColumns(object, file);
  if (columns !== undefined) return columns;
  throw historyError(
    file,
    `expected Keras History.history keys (loss, accuracy, val_loss, val_accuracy, lr), received ${keys.join(', ') || 'nothing'}`,
  );
}

export function parseHistory(text: string, file: string): TrainingHistory {
  const trimmed = text
    .replace(/^\uFEFF/, '')
    .replace(/\0/g, ' ')
    .trim();
  const parsed = (() => {
    if (!trimmed.startsWith('{') && !trimmed.startsWith('[')) return parseCsv(text, file);
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
    return parseJson(json, file);
  })();
  if (parsed.epochs.length === 0) throw historyError(file, 'no epochs recorded');
  const { notes, ...rest } = parsed;
  return { file, ...rest, ...(notes.length === 0 ? {} : { notes }) };
}

export async function readHistory(file: string): Promise<TrainingHistory> {
  const text = await readFile(file, 'utf8').catch((cause: unknown) => {
    throw unreadableInput('NOT_FOUND', `${file}: cannot read (${(cause as Error).message})`, {
      file,
      cause,
    });
  });
  return parseHistory(text, file);
}

/**
 * Logs of consecutive phases (phase 1 trained the head, phase 2 fine-tuned) as one history: each
 * file's epochs become stage `phase k` (or `phase k · <its own stage>` when the file has stages),
 * positions run on across files, and the class names are the first log's that has them.
 */
export function combineHistories(histories: readonly TrainingHistory[]): TrainingHistory {
  if (histories.length === 1) return histories[0] as TrainingHistory;
  const epochs: EpochRecord[] = [];
  const sources: HistorySource[] = [];
  const notes: string[] = [];
  histories.forEach((h, k) => {
    const first = epochs.length;
    for (const e of h.epochs)
      epochs.push({
        ...e,
        index: epochs.length,
        stage: e.stage === undefined ? `phase ${k + 1}` : `phase ${k + 1} · ${e.stage}`,
      });
    sources.push({
      file: h.file,
      format: h.format as HistorySource['format'],
      first,
      last: epochs.length - 1,
    });
    for (const note of h.notes ?? []) notes.push(`${basename(h.file)}: ${note}`);
  });
  const classNames = histories.find((h) => h.classNames !== undefined)?.classNames;
  const accuracyName = histories.find((h) => h.accuracyName !== undefined)?.accuracyName;
  return {
    file: histories.map((h) => h.file).join(' then '),
    format: 'combined',
    epochs,
    sources,
    ...(classNames === undefined ? {} : { classNames }),
    ...(accuracyName === undefined ? {} : { accuracyName }),
    ...(notes.length === 0 ? {} : { notes }),
  };
}

export async function readHistories(files: readonly string[]): Promise<TrainingHistory> {
  const histories: TrainingHistory[] = [];
  for (const file of files) histories.push(await readHistory(file));
  return combineHistories(histories);
}

/**
 * The epoch as a person counts it. Logs number epochs from 0 (Keras' CSVLogger, pandas' index,
 * vggkit's history.json; History.history has no numbers and is read by position), while the Keras
 * and vggkit consoles print "Epoch 1/N" for it and the doctor's charts count from 1: findings name
 * epochs as the consoles do.
 */
export function epochNumber(e: EpochRecord): number {
  return e.epoch + 1;
}

/** The epoch at `index` (a position in the log, as series() and epochRange give it). */
export function epochAt(h: TrainingHistory, index: number): EpochRecord | undefined {
  return h.epochs.find((e) => e.index === index);
}

/** "epoch 13", or "epoch 3 of fit 2" in a log with stages (their epochs restart): epochNumber's count. */
export function epochName(e: EpochRecord | undefined): string {
  if (e === undefined) return 'an unknown epoch';
  return `epoch ${epochNumber(e)}${e.stage === undefined ? '' : ` of ${e.stage}`}`;
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
