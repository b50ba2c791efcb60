/** The terminal report: findings grouped by severity (most important first), each with its fix, then a counts line. */
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
  lines.push(`      fix: ${f.fix.summary}${f.fix.flag === undefined ? '' : `  (${f.fix.flag})`}`);
  if (f.fix.keras !== undefined)
    lines.push(`      keras: ${f.fix.keras.replace(/\n/g, '\n             ')}`);
  if (f.fix.measure !== undefined) lines.push(`      measure it: ${f.fix.measure}`);
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
  const { errors, warnings, infos } = report.summary;
  if (report.findings.length === 0) lines.push('No problems found.');
  lines.push(`${errors} error(s), ${warnings} warning(s), ${infos} note(s)`);
  return `${lines.join('\n')}\n`;
}
