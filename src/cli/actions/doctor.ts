/** What `vggkit doctor` does (declared in ../doctor.ts). */
import { diagnose, writeDiagnosisFixes, writeDiagnosisHtml } from '../../doctor/diagnose.js';
import { renderTerminal } from '../../doctor/render-terminal.js';
import { exitCodeFor, toJson } from '../../doctor/run.js';
import { invalidOption } from '../../util/errors.js';
import { createProgress, type Progress } from '../../report/progress.js';
import type { DoctorFlags } from '../doctor.js';

export async function doctor(dataDir: string | undefined, flags: DoctorFlags): Promise<number> {
  const { probeImages, classes, ...rest } = flags;
  const images = Number(probeImages);
  if (probeImages !== undefined && !/^\d+$/.test(probeImages))
    throw invalidOption('--probe-images', 'a whole number of images >= 2', probeImages);
  if (classes !== undefined && !/^\d+$/.test(classes))
    throw invalidOption('--classes', 'a whole number of classes >= 2', classes);
  let scanBar: Progress | undefined;
  const report = await diagnose({
    ...rest,
    ...(probeImages === undefined ? {} : { probeImages: images }),
    ...(classes === undefined ? {} : { classes: Number(classes) }),
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
  if (flags.json === true) process.stdout.write(`${JSON.stringify(toJson(report), null, 2)}\n`);
  else process.stdout.write(renderTerminal(report));
  if (flags.html !== undefined) await writeDiagnosisHtml(flags.html, report);
  if (flags.fixConfig !== undefined) {
    const result = await writeDiagnosisFixes(flags.fixConfig, report);
    if (flags.json !== true)
      process.stderr.write(
        `vggkit: wrote ${flags.fixConfig} (${result.applied.length} fix(es): ${result.applied.map((a) => a.id).join(', ') || 'none'})\n`,
      );
  }
  return exitCodeFor(report);
}
