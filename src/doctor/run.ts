/** Runs the checks over a context and orders the findings: severity first, then family order, then check order. */
import { ALL_CHECKS } from './checks/index.js';
import { classCount } from './context.js';
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
  const findings = withSweepCommands(found, ctx).sort(
    (a, b) => rank(a.severity) - rank(b.severity),
  );
  const count = (s: Severity): number => findings.filter((f) => f.severity === s).length;
  return {
    findings,
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

export function exitCodeFor(report: DoctorReport): number {
  return report.summary.errors > 0 ? 1 : 0;
}

/** The `--json` shape: ids, severities, titles, evidence and fixes, nothing else. */
export function toJson(report: DoctorReport): {
  findings: Array<Pick<Finding, 'id' | 'severity' | 'title' | 'evidence' | 'fix'>>;
  summary: DoctorSummary;
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
  };
}
