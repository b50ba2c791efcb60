/**
 * Findings about rates and convergence are questions a measurement settles better than a rule:
 * each of these ids gets, in its fix, the `vggkit sweep` command that would measure it on the
 * user's own data (`fix.measure`). The ranges bracket the configured value and the rule's
 * suggestion, so the sweep shows which side is right; ASHA keeps such a sweep to a few full runs.
 */
import { formatNumber } from '../sweep/space.js';
import type { TrainConfig } from '../train/config.js';
import type { DoctorContext, Finding } from './types.js';

/** Trials of a settling sweep: enough for TPE to start modelling after its 10 random ones. */
export const SETTLE_TRIALS = 16;

type Command = (config: TrainConfig, finding: Finding) => string;

function lrRange(low: number, high: number): string {
  return `--lr ${formatNumber(low)}..${formatNumber(high)}`;
}

function suggestedLr(finding: Finding, fallback: number): number {
  const lr = finding.fix.config?.lr;
  return typeof lr === 'number' ? lr : fallback;
}

const SWEEPS: Readonly<Record<string, Command>> = {
  'lr-too-high': (c, f) => lrRange(Math.min(c.lr, suggestedLr(f, c.lr / 100)) / 3, c.lr * 3),
  'lr-too-low': (c, f) => lrRange(c.lr / 3, Math.max(c.lr, suggestedLr(f, c.lr * 100)) * 3),
  'slow-convergence': (c) => `${lrRange(c.lr, c.lr * 100)} --optimizer adam,sgd`,
  'oscillating-loss': (c) => `${lrRange(c.lr / 100, c.lr)} --batch-size 16,32,64`,
  'plateau-without-lr-decay': () => '--schedule none,cosine,step --reduce-lr-patience 2,3,5',
  // Momentum and the optimizer each move the rate that works: the range spans both optimizers' usual rates.
  'sgd-without-momentum': (c) =>
    `--optimizer sgd,adam --momentum ${[...new Set([0, c.momentum, 0.9])].map(formatNumber).join(',')} ${lrRange(1e-5, 0.1)}`,
  'label-smoothing-too-high': (c) =>
    `--label-smoothing 0,0.1,${formatNumber(c.labelSmoothing)} ${lrRange(c.lr, Math.max(c.lr * 100, 1e-2))}`,
  'batch-larger-than-dataset': (c) =>
    `--batch-size 8,16,32 ${lrRange(Math.min(c.lr, 1e-4) / 3, Math.max(c.lr, 1e-2))}`,
};

export const MEASURED_BY_SWEEP: readonly string[] = Object.keys(SWEEPS);

/** The findings with `fix.measure` set where a sweep would settle them. */
export function withSweepCommands(findings: readonly Finding[], ctx: DoctorContext): Finding[] {
  return findings.map((f) => {
    const sweep = SWEEPS[f.id];
    // A fix measured on the data (the LR range test, the fix loop) needs no command to measure it.
    if (sweep === undefined || (f.fix.basis ?? 'rule') !== 'rule') return f;
    const config = ctx.config;
    const epochs = config?.epochs ?? 20;
    const data = ctx.scan?.train.root ?? '<data-dir>';
    const command = `vggkit sweep ${data} ${sweep(config ?? ({ lr: 1e-4 } as TrainConfig), f)} --epochs ${epochs} --trials ${SETTLE_TRIALS} --scheduler asha${ctx.rawConfig === undefined ? '' : ` --config ${ctx.configFile ?? '<your config.json>'}`}`;
    return { ...f, fix: { ...f.fix, measure: command } };
  });
}
