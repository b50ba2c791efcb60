/** What `vggkit doctor` does (declared in ../doctor.ts). */
import { writeFixedConfig } from '../../doctor/fix-config.js';
import { buildContext } from '../../doctor/inputs.js';
import { writeHtmlReport } from '../../doctor/render-html.js';
import { renderTerminal } from '../../doctor/render-terminal.js';
import { exitCodeFor, runDoctor, toJson } from '../../doctor/run.js';
import { invalidOption, UsageError, VggkitError } from '../../util/errors.js';
import { defaultCacheDir } from '../../model/download.js';
import { fixIsProven, measureFixes } from '../../doctor/fix-loop/measure.js';
import { createProgress, type Progress } from '../../report/progress.js';
import type { DoctorFlags } from '../doctor.js';

export async function doctor(dataDir: string | undefined, flags: DoctorFlags): Promise<number> {
  const { probeImages, ...rest } = flags;
  const images = Number(probeImages);
  if (probeImages !== undefined && !/^\d+$/.test(probeImages))
    throw invalidOption('--probe-images', 'a whole number of images >= 2', probeImages);
  let scanBar: Progress | undefined;
  const ctx = await buildContext({
    ...rest,
    ...(probeImages === undefined ? {} : { probeImages: images }),
    ...(dataDir === undefined ? {} : { dataDir }),
    ...(flags.json === true
      ? {}
      : { log: (line: string) => process.stderr.write(`vggkit: ${line}\n`) }),
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
  const measure =
    flags.measure !== false && (flags.fixConfig !== undefined || flags.verify === true);
  if (flags.verify === true && (ctx.scan === undefined || ctx.config === undefined))
    throw new UsageError(
      'MISSING_OPTION',
      'doctor --verify: expected the training data folder and --config (it trains your config and the fix on the data)',
    );
  if (flags.verify === true && flags.measure === false)
    throw new UsageError(
      'CONFLICTING_OPTIONS',
      'doctor: --verify measures; it cannot go with --no-measure',
    );
  let fixBar: Progress | undefined;
  const rules = await runDoctor(ctx);
  const measured = measure
    ? measureFixes(ctx, rules, {
        cacheDir: defaultCacheDir(),
        ...(flags.offline === undefined ? {} : { offline: flags.offline }),
        verify: flags.verify === true,
        ...(flags.json === true
          ? {}
          : { log: (line: string) => process.stderr.write(`vggkit: ${line}\n`) }),
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
    if (!(e instanceof VggkitError) || flags.verify === true) throw e;
    process.stderr.write(
      `vggkit: could not measure the fixes on your data (${e.code}: ${e.message}); the fixes below are rules of thumb\n`,
    );
    return rules;
  });
  fixBar?.stop();
  if (flags.json === true) process.stdout.write(`${JSON.stringify(toJson(report), null, 2)}\n`);
  else process.stdout.write(renderTerminal(report));
  if (flags.html !== undefined)
    await writeHtmlReport(flags.html, report, {
      history: ctx.history,
      lrRange: ctx.probes?.lrRange,
      configuredLr: ctx.config?.lr,
    });
  if (flags.fixConfig !== undefined) {
    const note = (line: string): void => {
      if (flags.json !== true) process.stderr.write(`vggkit: ${line}\n`);
    };
    if (!fixIsProven(report))
      note(
        `${flags.fixConfig} not written: no candidate fix beat your config on your data (see no-better-fix)`,
      );
    else {
      const result = await writeFixedConfig(flags.fixConfig, ctx.rawConfig ?? {}, report.findings);
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
