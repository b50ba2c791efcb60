/**
 * The doctor as one library call: `diagnose(inputs)` reads what it is given (data folders, a
 * config, a training log, a batch, a model folder; probes on request), runs every check and
 * returns the findings, most important first, with the context they were drawn from. The HTML
 * report and the fixed config are written from a diagnosis. What `vggkit doctor` runs.
 */
import { writeFixedConfig, type FixResult } from './fix-config.js';
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
