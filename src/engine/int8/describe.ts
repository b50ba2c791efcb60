/** One line for a person about an int8 decision: what runs, and the figures behind it. */
import type { GuardFigures } from './guard.js';
import type { Int8Report } from './prepare.js';

export function figuresText(f: GuardFigures): string {
  const parts = [`cosine ${f.cosine.toFixed(4)} (worst image ${f.minCosine.toFixed(4)})`];
  if (f.top1 !== undefined) parts.push(`top-1 agreement ${(100 * f.top1).toFixed(1)}%`);
  if (f.top5 !== undefined) parts.push(`top-5 ${(100 * f.top5).toFixed(1)}%`);
  return parts.join(', ');
}

export function describeInt8(report: Int8Report): string {
  const kept = report.method === undefined ? undefined : report.methods[report.method];
  const cached = report.cached ? ' (decided on an earlier run, from the cache)' : '';
  if (report.precision === 'int8' && kept !== undefined)
    return `int8: ${report.method} calibration on ${report.calibrationImages} images; against fp32 on ${kept.images} held-out images ${figuresText(kept)}${cached}`;
  const figures = kept === undefined ? '' : ` (${report.method}: ${figuresText(kept)})`;
  return `${report.reason ?? 'int8 not used'}${figures}; running fp32${cached}`;
}
