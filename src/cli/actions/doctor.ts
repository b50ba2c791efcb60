/** What `vggkit doctor` does (declared in ../doctor.ts). */
import {
  diagnose,
  measureDiagnosis,
  writeDiagnosisFixes,
  writeDiagnosisHtml,
  type Diagnosis,
} from '../../doctor/diagnose.js';
import { setupConfig } from '../../doctor/context.js';
import { fixIsProven } from '../../doctor/fix-loop/measure.js';
import { renderTerminal } from '../../doctor/render-terminal.js';
import { exitCodeFor, toJson } from '../../doctor/run.js';
import { defaultCacheDir } from '../../model/download.js';
import { invalidOption, UsageError, VggkitError } from '../../util/errors.js';
import { createProgress, type Progress } from '../../report/progress.js';
import type { DoctorFlags } from '../doctor.js';

export async function doctor(dataDir: string | undefined, flags: DoctorFlags): Promise<number> {
  const { probeImages, classes, verify, measure: measureFlag, ...rest } = flags;
  const images = Number(probeImages);
  if (probeImages !== undefined && !/^\d+$/.test(probeImages))
    throw invalidOption('--probe-images', 'a whole number of images >= 2', probeImages);
  if (classes !== undefined && !/^\d+$/.test(classes))
    throw invalidOption('--classes', 'a whole number of classes >= 2', classes);
  if (verify === true && measureFlag === false)
    throw new UsageError(
      'CONFLICTING_OPTIONS',
      'doctor: --verify measures; it cannot go with --no-measure',
    );
  const measure = measureFlag !== false && (flags.fixConfig !== undefined || verify === true);
  let scanBar: Progress | undefined;
  const log =
    flags.json === true ? undefined : (line: string) => process.stderr.write(`vggkit: ${line}\n`);
  const rules = await diagnose({
    ...rest,
    ...(probeImages === undefined ? {} : { probeImages: images }),
    ...(classes === undefined ? {} : { classes: Number(classes) }),
    ...(dataDir === undefined ? {} : { dataDir }),
    ...(log === undefined ? {} : { log }),
    measure,
    onScanProgress: (done: number, total: number) => {
      scanBar ??= createProgress({
        label: 'scanning',
        total,
        unit: 'img',
        json: flags.json === true,
      });
      scanBar.update(done);
      // The scan ends here; probes that follow must not count towards its time.
      if (done >= total) scanBar.stop();
    },
  });
  scanBar?.stop();
  if (
    verify === true &&
    (rules.context.scan === undefined || setupConfig(rules.context) === undefined)
  )
    throw new UsageError(
      'MISSING_OPTION',
      'doctor --verify: expected the training data folder and --config or --keras (it trains your setup and the fix on the data)',
    );
  let fixBar: Progress | undefined;
  const measured: Promise<Diagnosis> = measure
    ? measureDiagnosis(rules, {
        cacheDir: defaultCacheDir(),
        ...(flags.offline === undefined ? {} : { offline: flags.offline }),
        verify: verify === true,
        ...(log === undefined ? {} : { log }),
        onCandidate: (done, total, label) => {
          fixBar ??= createProgress({
            label: 'measuring fixes',
            total,
            unit: 'run',
            json: flags.json === true,
          });
          fixBar.update(done, label);
        },
      })
    : Promise.resolve(rules);
  // --fix-config alone falls back to the rules when the loop cannot run (weights not reachable,
  // say): the fixes stay advice and the doctor says why. --verify asked for the measurement.
  const report = await measured.catch((e: unknown) => {
    if (!(e instanceof VggkitError) || verify === true) throw e;
    process.stderr.write(
      `vggkit: could not measure the fixes on your data (${e.code}: ${e.message}); the fixes below are rules of thumb\n`,
    );
    return rules;
  });
  fixBar?.stop();
  if (flags.json === true) process.stdout.write(`${JSON.stringify(toJson(report), null, 2)}\n`);
  else process.stdout.write(renderTerminal(report));
  if (flags.html !== undefined) await writeDiagnosisHtml(flags.html, report);
  if (flags.fixConfig !== undefined) {
    const note = (line: string): void => {
      log?.(line);
    };
    if (!fixIsProven(report))
      note(
        `${flags.fixConfig} not written: no candidate fix beat your config on your data (see no-better-fix)`,
      );
    else {
      const result = await writeDiagnosisFixes(flags.fixConfig, report);
      const ids = result.applied.map((a) => a.id).join(', ');
      note(
        result.applied.length === 0
          ? `wrote ${flags.fixConfig}: your config unchanged (no finding proposes a change)`
          : report.fixLoop === undefined
            ? `wrote ${flags.fixConfig} (${result.applied.length} rule-of-thumb fix(es), not measured on your data: ${ids})`
            : `wrote ${flags.fixConfig} (measured on your data${report.fixLoop.verification === undefined ? '' : ' and verified over your epochs'}: ${ids})`,
      );
    }
  }
  return exitCodeFor(report);
}
