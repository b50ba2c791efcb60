/** What `vggkit train` does (declared in ../train.ts). */
import {
  createProgress,
  formatDuration,
  PassProgress,
  type Progress,
} from '../../report/progress.js';
import type { Callback } from '../../train/events.js';
import { fineTune } from '../../train/fit.js';
import { readTrainConfigFile } from '../../train/config-file.js';
import { DEFAULT_CONFIG } from '../../train/config.js';
import { UsageError } from '../../util/errors.js';
import type { TrainFlags } from '../train.js';
import { configFromFlags } from '../train-flags.js';

export async function train(dir: string, flags: TrainFlags): Promise<void> {
  const json = flags.json === true;
  if (flags.resume === true && flags.out === undefined)
    throw new UsageError(
      'MISSING_OPTION',
      '--resume: expected --out DIR naming the run to continue, received none',
    );
  const config = configFromFlags(
    flags,
    flags.config === undefined ? DEFAULT_CONFIG : (await readTrainConfigFile(flags.config)).config,
  );
  const display = new TrainingDisplay(json);
  try {
    const result = await fineTune({
      data: dir,
      config,
      ...(flags.out === undefined ? {} : { out: flags.out }),
      resume: flags.resume === true,
      offline: flags.offline === true,
      callbacks: [display.callback],
      log: (line) => display.line(line),
      onFeatureProgress: (done, total) => display.features(done, total),
      onInt8Progress: (phase, done, total) => display.int8(phase, done, total),
      onDownloadProgress: (received, total) => display.download(received, total),
    });
    display.stop();
    const last = result.history[result.history.length - 1];
    process.stderr.write(`model folder: ${result.modelDir}\n`);
    if (json) {
      const summary = {
        modelDir: result.modelDir,
        epochs: result.history.length,
        metrics: last ?? null,
        stoppedBy: result.stoppedBy ?? null,
        classNames: result.classNames,
        skipped: result.skipped.map(({ file, code, reason }) => ({ file, code, reason })),
      };
      process.stdout.write(`${JSON.stringify(summary)}\n`);
    }
  } finally {
    display.stop();
  }
}

function formatMetric(value: number): string {
  return Math.abs(value) >= 1e-3 || value === 0 ? value.toFixed(4) : value.toExponential(2);
}

/** Progress bars and lines on stderr, driven by fineTune's events. */
class TrainingDisplay {
  readonly callback: Callback;
  private bar: Progress | undefined;
  private readonly passes: PassProgress;
  private epochs = 0;
  private epochStarted = 0;
  /** The last batch's training rate this epoch (batch_end's imagesPerSecond). */
  private imagesPerSecond: number | undefined;

  constructor(private readonly json: boolean) {
    this.passes = new PassProgress({ unit: 'img', json });
    const callback: Callback = {
      name: 'cli-progress',
      fit_start: (event) => {
        this.epochs = event.epochs;
        const val = event.valSize > 0 ? `, ${event.valSize} validation` : '';
        this.line(
          `${event.trainSize} training images${val}, ${event.classNames.length} classes (${event.classNames.join(', ')}), ${event.epochs} epochs`,
        );
      },
      stage_start: (event) =>
        this.line(
          `stage ${event.stage + 1} (${event.name}): epochs ${event.firstEpoch + 1}-${event.firstEpoch + event.epochs}, lr ${formatMetric(event.lr)}`,
        ),
      epoch_start: (event) => {
        this.stop();
        this.epochStarted = performance.now();
        this.imagesPerSecond = undefined;
        // The epoch's metrics line below ends it: the bar prints no line of its own.
        this.bar = createProgress({
          label: `epoch ${event.epoch + 1}/${event.epochs}`,
          total: event.batches,
          unit: 'batch',
          json: this.json,
          endLine: false,
        });
      },
      batch_end: (event) => {
        this.imagesPerSecond = event.imagesPerSecond;
        this.bar?.update(
          event.batch,
          `loss ${formatMetric(event.loss)} acc ${formatMetric(event.accuracy)} ${event.imagesPerSecond.toFixed(1)} img/s`,
        );
      },
      epoch_end: (event) => {
        this.stop();
        const metrics = Object.entries(event.logs).map(
          ([key, value]) => `${key} ${formatMetric(value as number)}`,
        );
        const seconds = (performance.now() - this.epochStarted) / 1000;
        const rate =
          this.imagesPerSecond === undefined ? '' : `, ${this.imagesPerSecond.toFixed(0)} img/s`;
        this.line(
          `epoch ${event.epoch + 1}/${this.epochs}: ${metrics.join(', ')} (${formatDuration(seconds)}${rate})`,
        );
      },
    };
    this.callback = callback;
  }

  /** Weights download, in MB; `total` is undefined when the server sends no length. */
  download(received: number, total: number | undefined): void {
    const mb = (bytes: number): number => Math.round(bytes / 1e6);
    if (this.bar === undefined)
      this.bar = createProgress({
        label: 'weights',
        total: total === undefined ? 0 : mb(total),
        unit: 'MB',
        json: this.json,
      });
    this.bar.update(mb(received));
  }

  /** int8 calibration, then its check against fp32: one bar per phase. */
  int8(phase: string, done: number, total: number): void {
    this.bar?.stop();
    this.bar = undefined;
    this.passes.update(`int8 ${phase}`, done, total);
  }

  /** Feature extraction: a bar per pass (train files, then validation files). */
  features(done: number, total: number): void {
    this.bar?.stop();
    this.bar = undefined;
    this.passes.update('features', done, total);
  }

  line(text: string): void {
    this.stop();
    process.stderr.write(`${text}\n`);
  }

  stop(): void {
    this.passes.stop();
    this.bar?.stop();
    this.bar = undefined;
  }
}
