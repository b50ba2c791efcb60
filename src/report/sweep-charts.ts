/**
 * Chart specs for a hyperparameter sweep, for the sweep report and the dashboard's sweep page:
 * parallel coordinates (one axis per searched parameter, then the monitored value; one line per
 * trial, the best in its own colour, pruned trials dashed) and every trial's learning curve.
 */
import type { ParallelAxis, ParallelChartSpec, LineChartSpec } from './chart-spec.js';
import { overlayCharts, type EpochPoint } from './curves.js';

export interface SweepDimension {
  readonly name: string;
  readonly log?: boolean;
  /** Choices of a categorical parameter, in order. */
  readonly choices?: readonly (string | number | boolean)[];
}

export interface SweepTrialPoint {
  readonly id: string;
  readonly params: Readonly<Record<string, string | number | boolean>>;
  readonly status: string;
  readonly value: number | null;
  readonly points: readonly EpochPoint[];
}

const BEST = '#2e7d32';
const OTHER = '#90a4ae';
const PRUNED = '#ef8f00';
const FAILED = '#c62828';

export function parallelCoordinates(
  dimensions: readonly SweepDimension[],
  trials: readonly SweepTrialPoint[],
  monitor: string,
  bestId: string | undefined,
): ParallelChartSpec {
  const axes: ParallelAxis[] = [
    ...dimensions.map((d) =>
      d.choices !== undefined
        ? { label: d.name, categories: d.choices.map(String) }
        : { label: d.name, ...(d.log === true ? { log: true } : {}) },
    ),
    { label: monitor },
  ];
  const lines = trials.map((t) => ({
    label: t.id,
    values: [
      ...dimensions.map((d) => {
        const v = t.params[d.name];
        if (v === undefined) return null;
        if (d.choices !== undefined) {
          const i = d.choices.map(String).indexOf(String(v));
          return i === -1 ? null : i;
        }
        return typeof v === 'number' ? v : null;
      }),
      t.value !== null && Number.isFinite(t.value) ? t.value : null,
    ],
    color:
      t.id === bestId
        ? BEST
        : t.status === 'pruned'
          ? PRUNED
          : t.status === 'failed'
            ? FAILED
            : OTHER,
    ...(t.status === 'pruned' ? { dashed: true } : {}),
    ...(t.id === bestId ? { width: 3 } : {}),
  }));
  // The best trial is drawn last, on top.
  lines.sort((a, b) => Number(a.label === bestId) - Number(b.label === bestId));
  return {
    kind: 'parallel',
    id: 'sweep-parallel',
    title: 'Parameters and result of every trial',
    axes,
    lines,
    caption: `Green: the best trial. Orange dashed: pruned. Red: failed. Last axis: ${monitor}.`,
  };
}

/** Every trial's validation (or training) curves on one chart per metric; pruned trials dashed. */
export function trialCurves(trials: readonly SweepTrialPoint[]): LineChartSpec[] {
  return overlayCharts(
    trials.map((t) => ({ name: t.id, points: t.points, dashed: t.status === 'pruned' })),
    'sweep-',
  ).map((c) => ({ ...c, caption: 'One line per trial; dashed: pruned by the scheduler.' }));
}
