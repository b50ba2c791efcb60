/**
 * Runs the checks over a context, orders the findings (severity first, then family order, then
 * check order) and combines them into one plan: one fix per setting, measured fixes first
 * (combine.ts).
 */
import { ALL_CHECKS } from './checks/index.js';
import { combineFindings, fixLabel } from './combine.js';
import { classCount, setupConfig } from './context.js';
import type { FixLoopResult } from './fix-loop/types.js';
import { readingOf, type HistoryReading } from './trainings.js';
import { withSweepCommands } from './sweep-commands.js';
import {
  SEVERITIES,
  type Check,
  type DoctorContext,
  type Finding,
  type Severity,
} from './types.js';

export interface DoctorSummary {
  readonly errors: number;
  readonly warnings: number;
  readonly infos: number;
  readonly inputs: {
    readonly data: boolean;
    readonly config: boolean;
    readonly history: boolean;
    readonly batch: boolean;
    readonly model: boolean;
  };
  readonly images?: number;
  /** The class count the checks used (data folder, model, log or --classes). */
  readonly classes?: number;
  /** How the training log was read: epochs, stages, trainings, repairs. */
  readonly history?: HistoryReading;
}

export interface DoctorReport {
  readonly findings: readonly Finding[];
  readonly summary: DoctorSummary;
  /** What the fix loop tried and measured, when it ran (fix-loop/types.ts). */
  readonly fixLoop?: FixLoopResult;
  /** The command that would measure the report's rule-of-thumb fixes on the data, when it has some and nothing measured them. */
  readonly advice?: string;
}

export async function runDoctor(
  ctx: DoctorContext,
  checks: readonly Check[] = ALL_CHECKS,
): Promise<DoctorReport> {
  const found: Finding[] = [];
  for (const check of checks) {
    for (const finding of await check.run(ctx)) {
      if (!check.ids.includes(finding.id))
        throw new Error(`check ${check.ids.join('/')} emitted undeclared id ${finding.id}`);
      found.push({ ...finding, family: check.family });
    }
  }
  const rank = (s: Severity): number => SEVERITIES.indexOf(s);
  // Array.prototype.sort is stable, so check order breaks ties.
  const findings = combineFindings(
    withSweepCommands(found, ctx).sort((a, b) => rank(a.severity) - rank(b.severity)),
    (setupConfig(ctx) ?? {}) as unknown as Readonly<Record<string, unknown>>,
  );
  const count = (s: Severity): number => findings.filter((f) => f.severity === s).length;
  const advice =
    ctx.fixLoop === undefined && findings.some((f) => fixLabel(f) === 'Fix (rule of thumb)')
      ? measureCommand(ctx)
      : undefined;
  return {
    findings,
    ...(ctx.fixLoop === undefined ? {} : { fixLoop: ctx.fixLoop }),
    ...(advice === undefined ? {} : { advice }),
    summary: {
      errors: count('error'),
      warnings: count('warning'),
      infos: count('info'),
      inputs: {
        data: ctx.scan !== undefined,
        config: ctx.config !== undefined,
        history: ctx.history !== undefined,
        batch: ctx.batch !== undefined,
        model: ctx.model !== undefined,
      },
      ...(ctx.scan === undefined ? {} : { images: ctx.scan.records.length }),
      ...(classCount(ctx) === undefined ? {} : { classes: classCount(ctx) }),
      ...(ctx.history === undefined ? {} : { history: readingOf(ctx.history) }),
    },
  };
}

/** `vggkit doctor` with the fix loop on the data the report is about (placeholders for what it was not given). */
export function measureCommand(ctx: DoctorContext): string {
  const data = ctx.scan?.train.root ?? '<data-dir>';
  const val = ctx.scan?.val === undefined ? '' : ` --val ${ctx.scan.val.root}`;
  const setup =
    ctx.keras !== undefined
      ? `--keras ${ctx.keras.model.file}`
      : `--config ${ctx.configFile ?? '<your config.json>'}`;
  return `vggkit doctor ${data}${val} ${setup} --fix-config fixed.json --verify`;
}

export function exitCodeFor(report: DoctorReport): number {
  return report.summary.errors > 0 ? 1 : 0;
}

/** The `--json` shape: ids, severities, titles, evidence and fixes, the summary, and what the fix loop measured. */
export function toJson(report: DoctorReport): {
  findings: Array<Pick<Finding, 'id' | 'severity' | 'title' | 'evidence' | 'fix'>>;
  summary: DoctorSummary;
  fixLoop?: FixLoopResult;
} {
  return {
    findings: report.findings.map((f) => ({
      id: f.id,
      severity: f.severity,
      title: f.title,
      evidence: f.evidence,
      fix: f.fix,
    })),
    summary: report.summary,
    ...(report.fixLoop === undefined ? {} : { fixLoop: report.fixLoop }),
  };
}
