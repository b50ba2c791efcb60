/**
 * What the monitoring callbacks share: resolving `mode` (an unknown mode is an error, never a silent
 * fallback to auto as in Keras) and reading the monitored value (a metric that is not logged is an
 * error too: Keras warns every epoch and does nothing, which hides a misconfigured run).
 */
import { oneOf, UsageError } from '../../util/errors.js';
import { logValue, type EpochLogs } from '../events.js';

export const MONITOR_MODES = ['min', 'max', 'auto'] as const;
export type MonitorMode = (typeof MONITOR_MODES)[number];

/**
 * Keras' rule for ReduceLROnPlateau and ModelCheckpoint: in auto mode a name containing `acc` is
 * maximised and anything else minimised.
 */
export function directionByName(option: string, mode: unknown, monitor: string): 'min' | 'max' {
  const checked = oneOf(option, MONITOR_MODES, mode);
  if (checked !== 'auto') return checked;
  return monitor.includes('acc') ? 'max' : 'min';
}

/**
 * Keras 3's rule for EarlyStopping: auto knows the direction of the loss and of accuracy (with or
 * without `val_`) and refuses to guess for anything else.
 */
export function directionByMetric(option: string, mode: unknown, monitor: string): 'min' | 'max' {
  const checked = oneOf(option, MONITOR_MODES, mode);
  if (checked !== 'auto') return checked;
  const metric = monitor.startsWith('val_') ? monitor.slice(4) : monitor;
  if (metric === 'loss') return 'min';
  if (metric === 'accuracy' || metric === 'acc') return 'max';
  throw new UsageError(
    'INVALID_OPTION',
    `${option}: cannot infer whether "${monitor}" should be minimised or maximised; expected mode min or max, received "auto"`,
  );
}

export function monitoredValue(option: string, logs: EpochLogs, monitor: string): number {
  const value = logValue(logs, monitor);
  if (value === undefined) {
    throw new UsageError(
      'INVALID_OPTION',
      `${option}: expected one of the logged metrics (${Object.keys(logs).sort().join(', ')}), received "${monitor}"`,
    );
  }
  return value;
}

/** Infinity survives JSON as a string here, so best values of fresh callbacks can be checkpointed. */
export function encodeNumber(n: number): number | string {
  return Number.isFinite(n) ? n : String(n);
}

export function decodeNumber(value: unknown): number {
  if (typeof value === 'number') return value;
  if (value === 'Infinity' || value === '-Infinity' || value === 'NaN') return Number(value);
  throw new TypeError(`expected a number in callback state, received ${JSON.stringify(value)}`);
}
