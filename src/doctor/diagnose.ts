/**
 * The doctor as one library call: `diagnose(inputs)` reads what it is given (data folders, a
 * config, a training log, a batch, a model folder; probes on request), runs every check and
 * returns the findings, most important first, with the context they were drawn from. The HTML
 * report and the fixed config are written from a diagnosis. What `vggkit doctor` runs.
 */
import { writeFixedConfig, type FixResult } from './fix-config.js';
import { measureFixes, type MeasureOptions } from './fix-loop/measure.js';
import { buildContext, type DoctorInputs } from './inputs.js';
import { writeHtmlReport } from './render-html.js';
import { runDoctor, type DoctorReport } from './run.js';
import type { DoctorContext } from './types.js';

export interface Diagnosis extends DoctorReport {
  /** What the checks read: the scan, config, history, batch statistics, model, probe results. */
  readonly context: DoctorContext;
}

export async function diagnose(inputs: DoctorInputs): Promise<Diagnosis> {
  const context = await buildContext(inputs);
  return { ...(await runDoctor(context)), context };
}

/**
 * The diagnosis with its fixes measured on the data (the fix loop, fix-loop/): candidate fixes
 * trained briefly on the user's images, the winner stated by `measured-fix` and every rule about
 * the same settings deferring to it. Unchanged when there is no data, no config or nothing to fix.
 */
export async function measureDiagnosis(
  diagnosis: Diagnosis,
  options: MeasureOptions,
): Promise<Diagnosis> {
  const { context } = diagnosis;
  const report = await measureFixes(context, diagnosis, options);
  if (report === diagnosis) return diagnosis;
  return {
    ...report,
    context: { ...context, ...(report.fixLoop === undefined ? {} : { fixLoop: report.fixLoop }) },
  };
}

/** A self-contained HTML report: findings, training curves and the LR range test when present. */
export async function writeDiagnosisHtml(file: string, diagnosis: Diagnosis): Promise<void> {
  const { context } = diagnosis;
  await writeHtmlReport(file, diagnosis, {
    history: context.history,
    lrRange: context.probes?.lrRange,
    configuredLr: context.config?.lr,
  });
}

/** The config as the user wrote it with every fixable finding's patch applied, written to `file`. */
export async function writeDiagnosisFixes(file: string, diagnosis: Diagnosis): Promise<FixResult> {
  return writeFixedConfig(file, diagnosis.context.rawConfig ?? {}, diagnosis.findings);
}
