/** The terminal report: findings grouped by severity (most important first), each with its fix, then a counts line. */
import { fixLabel } from './combine.js';
import { compareScores } from './fix-loop/score.js';
import type { FixLoopResult } from './fix-loop/types.js';
import { logValue, type EpochLogs } from '../train/events.js';
import type { DoctorReport } from './run.js';
import { describeReading } from './trainings.js';
import { SEVERITIES, type Finding, type Severity } from './types.js';

const HEADINGS: Record<Severity, string> = { error: 'Errors', warning: 'Warnings', info: 'Notes' };
const MARKS: Record<Severity, string> = { error: '✖', warning: '▲', info: '•' };

/** Evidence entries shown inline: scalars and short lists; long structures stay in --json / --html. */
function evidenceLine(evidence: Record<string, unknown>): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(evidence)) {
    if (key === 'epochRange' || value === undefined) continue;
    if (typeof value === 'number')
      parts.push(`${key} ${Number.isInteger(value) ? value : Number(value.toPrecision(4))}`);
    else if (typeof value === 'string' || typeof value === 'boolean') parts.push(`${key} ${value}`);
    else if (
      Array.isArray(value) &&
      value.length > 0 &&
      value.length <= 3 &&
      value.every((v) => typeof v !== 'object')
    )
      parts.push(`${key} ${value.join(', ')}`);
  }
  return parts.join('; ');
}

function exampleLines(evidence: Record<string, unknown>): string[] {
  const examples = evidence.examples ?? evidence.files;
  if (!Array.isArray(examples)) return [];
  return examples.slice(0, 3).map((e) => {
    if (Array.isArray(e)) return e.join(' = ');
    if (typeof e === 'object' && e !== null && 'file' in e)
      return `${String((e as { file: unknown }).file)}${'reason' in e ? ` (${String((e as { reason: unknown }).reason)})` : ''}`;
    return String(e);
  });
}

function renderFinding(f: Finding): string[] {
  const lines = [`  ${MARKS[f.severity]} ${f.title}  [${f.id}]`, `      ${f.explanation}`];
  const evidence = evidenceLine(f.evidence);
  if (evidence !== '') lines.push(`      evidence: ${evidence}`);
  for (const example of exampleLines(f.evidence)) lines.push(`        ${example}`);
  lines.push(
    `      ${fixLabel(f).toLowerCase()}: ${f.fix.summary}${f.fix.flag === undefined ? '' : `  (${f.fix.flag})`}`,
  );
  if (f.fix.keras !== undefined)
    lines.push(`      keras: ${f.fix.keras.replace(/\n/g, '\n             ')}`);
  if (f.fix.measure !== undefined) lines.push(`      measure it: ${f.fix.measure}`);
  return lines;
}

function pct(v: number): string {
  return Number.isFinite(v) ? `${(v * 100).toFixed(0)}%` : '–';
}

function num(v: number): string {
  return Number.isFinite(v) ? v.toFixed(3) : '–';
}

/** A run's accuracy per epoch as whole percentages, the terminal's curve. */
function accuracyCurve(history: readonly EpochLogs[], validation: boolean): string {
  return history
    .map((logs) => {
      const v = logValue(logs, validation ? 'val_accuracy' : 'accuracy');
      return v === undefined || !Number.isFinite(v) ? '–' : (v * 100).toFixed(0);
    })
    .join(' ');
}

/** The candidates best first, the chosen one marked, then the verification's before and after. */
export function renderFixLoop(loop: FixLoopResult): string[] {
  const val = loop.validationImages > 0;
  const lines = [
    `Fixes measured on your data (${loop.tried.length} candidates, ${loop.epochs} epoch(s) each, ${val ? `${loop.validationImages} validation images` : 'training metrics: no validation set'}; ${loop.seconds.toFixed(0)}s)`,
    `      ${val ? 'val acc' : '  acc  '}  loss*  candidate`,
  ];
  const ranked = loop.tried
    .map((t, i) => ({ t, i }))
    .sort((a, b) => compareScores(a.t.score, b.t.score) || a.i - b.i);
  for (const { t, i } of ranked)
    lines.push(
      `  ${i === loop.chosen ? '▸' : ' '}  ${pct(t.score.accuracy).padStart(7)}  ${num(t.score.loss).padStart(5)}  ${t.label}${t.status === 'failed' ? ` (failed: ${t.error ?? ''})` : ''}`,
    );
  lines.push(
    `  * ${val ? 'validation ' : ''}loss as the share left of the way from a uniform guess (1) to a perfect fit (0), comparable across label smoothing`,
  );
  const v = loop.verification;
  if (v !== undefined) {
    lines.push(
      `  Verified over your ${v.epochs} epochs: ${val ? 'validation' : 'training'} accuracy ${pct(v.before.score.accuracy)} → ${pct(v.after.score.accuracy)}, loss* ${num(v.before.score.loss)} → ${num(v.after.score.loss)}${v.improved ? '' : ' — not better, so nothing is written'}`,
      `  ${val ? 'validation' : 'training'} accuracy per epoch (%):`,
      `    your config  ${accuracyCurve(v.before.history, val)}`,
      `    the fix      ${accuracyCurve(v.after.history, val)}`,
    );
  } else if (loop.chosen !== undefined)
    lines.push('  Not verified over your full budget: add --verify to train the fix for it first.');
  return lines;
}

export function renderTerminal(report: DoctorReport): string {
  const lines: string[] =
    report.summary.history === undefined
      ? []
      : [...describeReading(report.summary.history, report.summary.classes), ''];
  for (const severity of SEVERITIES) {
    const group = report.findings.filter((f) => f.severity === severity);
    if (group.length === 0) continue;
    lines.push(`${HEADINGS[severity]} (${group.length})`);
    for (const f of group) lines.push(...renderFinding(f), '');
  }
  if (report.fixLoop !== undefined) lines.push(...renderFixLoop(report.fixLoop), '');
  if (report.advice !== undefined)
    lines.push(
      `Fixes marked "rule of thumb" are advice, not measured on your data. To measure them: ${report.advice}`,
      '',
    );
  const { errors, warnings, infos } = report.summary;
  if (report.findings.length === 0) lines.push('No problems found.');
  lines.push(`${errors} error(s), ${warnings} warning(s), ${infos} note(s)`);
  return `${lines.join('\n')}\n`;
}
