/**
 * Chart specs for training curves, the one place that decides what a loss, accuracy or learning
 * rate chart shows. Inputs are neutral records (`EpochPoint`, 1-based epochs) that train's
 * history, the doctor's parsed logs and the dashboard's event log all map onto.
 */
import { finiteOrNull, type LineChartSpec, type Marker, type ShadedRange } from './chart-spec.js';

export interface EpochPoint {
  /** 1-based, as a person counts epochs. */
  readonly epoch: number;
  readonly loss?: number;
  readonly accuracy?: number;
  readonly valLoss?: number;
  readonly valAccuracy?: number;
  readonly lr?: number;
  readonly stage?: string;
}

/** The curves' values and the log key (Keras' names, as history.json and CSVLogger write them) each comes from. */
const LOGGED: readonly (readonly [
  'loss' | 'accuracy' | 'valLoss' | 'valAccuracy' | 'lr',
  string,
])[] = [
  ['loss', 'loss'],
  ['accuracy', 'accuracy'],
  ['valLoss', 'val_loss'],
  ['valAccuracy', 'val_accuracy'],
  ['lr', 'lr'],
];

/** One epoch's logs (keys as Keras logs them) as a chart point; a value that is not a number is left out. */
export function epochPoint(logs: object, epoch: number, stage?: string): EpochPoint {
  const point: { -readonly [K in keyof EpochPoint]: EpochPoint[K] } = { epoch };
  for (const [name, key] of LOGGED) {
    const value = (logs as Readonly<Record<string, unknown>>)[key];
    if (typeof value === 'number') point[name] = value;
  }
  if (stage !== undefined) point.stage = stage;
  return point;
}

/** A run's epoch logs, in order, as chart points (1-based). */
export function epochPoints(history: readonly object[]): EpochPoint[] {
  return history.map((logs, i) => epochPoint(logs, i + 1));
}

export interface StageStart {
  readonly name: string;
  /** 1-based epoch the stage starts with. */
  readonly firstEpoch: number;
}

export interface EpochChartOptions {
  /** Stage changes; derived from the points' `stage` when absent. */
  readonly stages?: readonly StageStart[];
  /** Shaded epochs, e.g. those a doctor finding is about. */
  readonly highlights?: readonly ShadedRange[];
  /** Marks every drop of the learning rate inside a stage (ReduceLROnPlateau's reductions). */
  readonly markLrDrops?: boolean;
  /** Prefix of the chart ids, to keep several runs' charts apart on one page. */
  readonly idPrefix?: string;
  /** Emits the loss, accuracy and learning-rate charts before they have data (live pages). */
  readonly keepEmpty?: boolean;
}

export const TRAIN_COLOR = '#1565c0';
export const VAL_COLOR = '#c62828';
export const LR_COLOR = '#2e7d32';
export const STAGE_COLOR = '#6a1b9a';
export const LR_DROP_COLOR = '#ef6c00';
/** Distinct colours for runs overlaid on one chart (Tableau 10). */
export const PALETTE = [
  '#4e79a7',
  '#f28e2b',
  '#e15759',
  '#76b7b2',
  '#59a14f',
  '#edc948',
  '#b07aa1',
  '#ff9da7',
  '#9c755f',
  '#bab0ac',
] as const;

export function paletteColor(i: number): string {
  return PALETTE[i % PALETTE.length] as string;
}

function stagesOf(points: readonly EpochPoint[]): StageStart[] {
  const stages: StageStart[] = [];
  for (const p of points) {
    if (p.stage !== undefined && p.stage !== stages[stages.length - 1]?.name)
      stages.push({ name: p.stage, firstEpoch: p.epoch });
  }
  return stages;
}

/** Stage changes as vertical lines between the last epoch of one stage and the first of the next. */
export function stageMarkers(stages: readonly StageStart[]): Marker[] {
  return stages.map((s) => ({
    x: s.firstEpoch - 0.5,
    label: `stage ${s.name}`,
    color: STAGE_COLOR,
  }));
}

/** Epochs whose rate is below the previous epoch's within the same stage. */
export function lrDrops(points: readonly EpochPoint[], stages: readonly StageStart[]): Marker[] {
  const stageAt = (epoch: number): string | undefined =>
    [...stages].reverse().find((s) => s.firstEpoch <= epoch)?.name;
  const drops: Marker[] = [];
  for (let i = 1; i < points.length; i++) {
    const [a, b] = [points[i - 1] as EpochPoint, points[i] as EpochPoint];
    if (a.lr === undefined || b.lr === undefined || !(b.lr < a.lr * (1 - 1e-9))) continue;
    if (stageAt(a.epoch) !== stageAt(b.epoch)) continue;
    drops.push({
      x: b.epoch,
      label: `lr ×${Number((b.lr / a.lr).toPrecision(2))}`,
      color: LR_DROP_COLOR,
    });
  }
  return drops;
}

const has = (points: readonly EpochPoint[], key: keyof EpochPoint): boolean =>
  points.some((p) => typeof p[key] === 'number');

/** Loss, accuracy and learning rate per epoch (the charts without data are left out). */
export function epochCharts(
  points: readonly EpochPoint[],
  options: EpochChartOptions = {},
): LineChartSpec[] {
  const stages = options.stages ?? stagesOf(points);
  const markers = stageMarkers(stages);
  const highlights = options.highlights ?? [];
  const x = points.map((p) => p.epoch);
  const column = (key: keyof EpochPoint): (number | null)[] =>
    points.map((p) => finiteOrNull(p[key] as number | undefined));
  const prefix = options.idPrefix ?? '';
  const dots = points.length <= 60;
  const charts: LineChartSpec[] = [];
  const pair = (
    id: string,
    title: string,
    yLabel: string,
    train: keyof EpochPoint,
    val: keyof EpochPoint,
    names: [string, string],
    yRange?: readonly [number, number],
  ): void => {
    const series = [
      ...(has(points, train)
        ? [{ label: names[0], color: TRAIN_COLOR, values: column(train), points: dots }]
        : []),
      ...(has(points, val)
        ? [
            {
              label: names[1],
              color: VAL_COLOR,
              values: column(val),
              dashed: true,
              points: dots,
            },
          ]
        : []),
    ];
    if (series.length === 0 && options.keepEmpty !== true) return;
    charts.push({
      kind: 'line',
      id: `${prefix}${id}`,
      title,
      xLabel: 'epoch',
      xInteger: true,
      yLabel,
      x,
      series,
      markers,
      highlights,
      ...(yRange === undefined ? {} : { yRange }),
    });
  };
  pair('loss', 'Loss per epoch', 'loss', 'loss', 'valLoss', ['loss', 'val_loss']);
  pair(
    'accuracy',
    'Accuracy per epoch',
    'accuracy',
    'accuracy',
    'valAccuracy',
    ['accuracy', 'val_accuracy'],
    [0, 1],
  );
  if (has(points, 'lr') || options.keepEmpty === true) {
    const drops = options.markLrDrops === true ? lrDrops(points, stages) : [];
    charts.push({
      kind: 'line',
      id: `${prefix}lr`,
      title: 'Learning rate per epoch',
      xLabel: 'epoch',
      xInteger: true,
      yLabel: 'learning rate (log)',
      x,
      yLog: points.every((p) => p.lr === undefined || p.lr > 0),
      series: [{ label: 'learning rate', color: LR_COLOR, values: column('lr'), points: dots }],
      markers: [...markers, ...drops],
      highlights,
      ...(drops.length > 0 ? { caption: 'Orange lines: ReduceLROnPlateau lowered the rate.' } : {}),
    });
  }
  return charts;
}

/** TensorBoard's smoothing: an exponential moving average, debiased so it starts at the data. */
export class Ema {
  private last = 0;
  private n = 0;

  constructor(private readonly weight = 0.6) {}

  /** The smoothed value after `v`; null (and no update) for a non-finite `v`. */
  push(v: number): number | null {
    if (!Number.isFinite(v)) return null;
    this.last = this.last * this.weight + (1 - this.weight) * v;
    this.n++;
    return this.last / (1 - this.weight ** this.n);
  }
}

export function emaSmooth(values: readonly number[], weight = 0.6): (number | null)[] {
  const ema = new Ema(weight);
  return values.map((v) => ema.push(v));
}

export interface BatchPoint {
  /** Epochs as a fraction: 0-based epoch e's batch b of n is at e + b/n, so epoch 1 ends at x = 1. */
  readonly x: number;
  readonly loss: number;
  /** The EMA over every batch up to this one (computed before any thinning). */
  readonly smoothed: number | null;
}

/** Batch points with their EMA, from each batch's own loss. */
export function smoothBatches(batches: readonly { x: number; loss: number }[]): BatchPoint[] {
  const ema = new Ema();
  return batches.map((b) => ({ ...b, smoothed: ema.push(b.loss) }));
}

/** Every batch's loss (faint) and its smoothed trend; at most about `maxPoints` are drawn. */
export function batchLossChart(
  batches: readonly BatchPoint[],
  options: { readonly stages?: readonly StageStart[]; readonly maxPoints?: number } = {},
): LineChartSpec {
  const step = Math.max(1, Math.ceil(batches.length / (options.maxPoints ?? 2000)));
  const kept = batches.filter((_, i) => i % step === 0 || i === batches.length - 1);
  return {
    kind: 'line',
    id: 'batch-loss',
    title: 'Training loss per batch',
    xLabel: 'epoch',
    xInteger: true,
    yLabel: 'loss',
    x: kept.map((b) => b.x),
    series: [
      {
        label: 'batch loss',
        color: '#90caf9',
        width: 1,
        values: kept.map((b) => finiteOrNull(b.loss)),
      },
      { label: 'smoothed (EMA 0.6)', color: TRAIN_COLOR, values: kept.map((b) => b.smoothed) },
    ],
    // On this axis a stage starting with (1-based) epoch e starts at x = e - 1.
    markers: stageMarkers(options.stages ?? []).map((m) => ({ ...m, x: m.x - 0.5 })),
    caption: 'Faint: each batch’s own loss. Solid: its exponential moving average, as TensorBoard.',
  };
}

/** The LR range test: smoothed loss against the learning rate (log axis), rates of interest marked. */
export function lrRangeChart(
  lrs: readonly number[],
  losses: readonly number[],
  marks: readonly { readonly lr: number; readonly label: string; readonly color: string }[],
): LineChartSpec {
  return {
    kind: 'line',
    id: 'lr-range',
    title: 'Learning-rate range test',
    xLabel: 'learning rate (log)',
    yLabel: 'smoothed loss',
    x: lrs,
    xLog: true,
    series: [
      { label: 'smoothed loss', color: TRAIN_COLOR, values: losses.map((l) => finiteOrNull(l)) },
    ],
    markers: marks.map((m) => ({ x: m.lr, label: m.label, color: m.color })),
  };
}

/** The names people know the metrics by (Keras' log keys). */
const KERAS_NAMES: Partial<Record<keyof EpochPoint, string>> = {
  loss: 'loss',
  accuracy: 'accuracy',
  valLoss: 'val_loss',
  valAccuracy: 'val_accuracy',
};

export interface NamedCurve {
  readonly name: string;
  readonly points: readonly EpochPoint[];
  /** Drawn dashed, e.g. a pruned trial. */
  readonly dashed?: boolean;
}

/**
 * Several runs on one chart per metric, one colour per run; validation metrics when the runs have
 * them, training metrics otherwise.
 */
export function overlayCharts(runs: readonly NamedCurve[], idPrefix = 'compare-'): LineChartSpec[] {
  const epochs = [...new Set(runs.flatMap((r) => r.points.map((p) => p.epoch)))].sort(
    (a, b) => a - b,
  );
  const anyVal = runs.some((r) => has(r.points, 'valLoss'));
  const metric = (
    id: string,
    title: string,
    key: keyof EpochPoint,
    yRange?: readonly [number, number],
  ): LineChartSpec => ({
    kind: 'line',
    id: `${idPrefix}${id}`,
    title,
    xLabel: 'epoch',
    xInteger: true,
    yLabel: KERAS_NAMES[key] ?? String(key),
    x: epochs,
    series: runs.map((r, i) => {
      const at = new Map(r.points.map((p) => [p.epoch, p[key] as number | undefined]));
      return {
        label: r.name,
        color: paletteColor(i),
        values: epochs.map((e) => finiteOrNull(at.get(e))),
        ...(r.dashed === true ? { dashed: true } : {}),
      };
    }),
    ...(yRange === undefined ? {} : { yRange }),
  });
  return anyVal
    ? [
        metric('val-loss', 'Validation loss per epoch', 'valLoss'),
        metric('val-accuracy', 'Validation accuracy per epoch', 'valAccuracy', [0, 1]),
      ]
    : [
        metric('loss', 'Training loss per epoch', 'loss'),
        metric('accuracy', 'Training accuracy per epoch', 'accuracy', [0, 1]),
      ];
}
