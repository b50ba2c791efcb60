/**
 * The fix loop inside a doctor run: the report's findings say what to measure, the loop measures
 * it on the data, and the checks run again with the measurement in the context, so the fix family
 * (checks/fix.ts) states the measured fix and every rule about the same settings defers to it.
 */
import { runDoctor, type DoctorReport } from '../run.js';
import { setupConfig } from '../context.js';
import type { DoctorContext } from '../types.js';
import { runFixLoop, type FixLoopOptions } from './run.js';

export type MeasureOptions = Pick<
  FixLoopOptions,
  'cacheDir' | 'offline' | 'verify' | 'parallel' | 'log' | 'onCandidate'
>;

/** `report` re-run with the fix loop's measurement, or `report` itself when there is nothing to measure on (no data, no config or Keras model, nothing to fix). */
export async function measureFixes(
  ctx: DoctorContext,
  report: DoctorReport,
  options: MeasureOptions,
): Promise<DoctorReport> {
  const config = setupConfig(ctx);
  if (ctx.scan === undefined || config === undefined) return report;
  const fixLoop = await runFixLoop({
    ...options,
    scan: ctx.scan,
    config,
    rawConfig: ctx.rawConfig ?? {},
    findings: report.findings,
    ...(ctx.probes === undefined ? {} : { probes: ctx.probes }),
  });
  return fixLoop === undefined ? report : runDoctor({ ...ctx, fixLoop });
}

/** Whether `--fix-config` may write: always for rules alone (advice, said so), only a winner once the loop has measured. */
export function fixIsProven(report: DoctorReport): boolean {
  return report.fixLoop === undefined || report.findings.some((f) => f.id === 'measured-fix');
}
