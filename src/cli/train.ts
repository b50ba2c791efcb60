/**
 * `vggkit train <dir>`: fineTune() with the seed's recipe as defaults, every hyperparameter a flag
 * or a `--config` JSON key (flags win over the file). Progress and notes go to stderr: a bar while
 * features are extracted, a per-batch bar with rate and ETA, one line per epoch with every metric
 * and the learning rate. With `--json` the last line on stdout is one JSON object with the result.
 */
import type { Command } from 'commander';
import { createProgress, type Progress } from '../report/progress.js';
import type { Callback } from '../train/events.js';
import { fineTune } from '../train/fit.js';
import { readTrainConfigFile } from '../train/config-file.js';
import { DEFAULT_CONFIG } from '../train/config.js';
import { UsageError } from '../util/errors.js';
import { runCommand } from './run-command.js';
import { configFromFlags, registerTrainFlags } from './train-flags.js';

interface TrainFlags extends Readonly<Record<string, unknown>> {
  readonly out?: string;
  readonly resume?: boolean;
  readonly config?: string;
  readonly json?: boolean;
  readonly offline?: boolean;
}

export function registerTrain(program: Command): void {
  const command = program
    .command('train')
    .description(
      "fine-tune a VGG classifier on a folder with one sub-folder per class (the seed article's recipe by default)",
    )
    .argument('<dir>', 'training images, one sub-folder per class');
  // Every training setting is a flag, from the one table sweep, lr-find and the doctor use too.
  registerTrainFlags(command);
  command
    .option('--out <dir>', 'model folder to write (default: a new folder under runs/)')
    .option(
      '--resume',
      "continue the run in --out from its last completed epoch (uses the run's own config.json)",
    )
    .option(
      '--config <file>',
      'JSON file of training settings (same keys as config.json); flags override it',
    )
    .option('--offline', 'never use the network; weights must already be in the cache')
    .option('--json', 'print the result as one JSON object, the last line on stdout')
    .action(
      runCommand(async (dir: string, flags: TrainFlags) => {
        const json = flags.json === true;
        if (flags.resume === true && flags.out === undefined)
          throw new UsageError(
            'MISSING_OPTION',
            '--resume: expected --out DIR naming the run to continue, received none',
          );
        const config = configFromFlags(
          flags,
          flags.config === undefined
            ? DEFAULT_CONFIG
            : (await readTrainConfigFile(flags.config)).config,
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
      }),
    );
}

function formatMetric(value: number): string {
  return Math.abs(value) >= 1e-3 || value === 0 ? value.toFixed(4) : value.toExponential(2);
}

/** Progress bars and lines on stderr, driven by fineTune's events. */
class TrainingDisplay {
  readonly callback: Callback;
  private bar: Progress | undefined;
  private featureTotal = -1;
  private epochs = 0;

  constructor(private readonly json: boolean) {
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
        this.bar = createProgress({
          label: `epoch ${event.epoch + 1}/${event.epochs}`,
          total: event.batches,
          unit: 'batch',
          json: this.json,
        });
      },
      batch_end: (event) => {
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
        this.line(`epoch ${event.epoch + 1}/${this.epochs}: ${metrics.join(', ')}`);
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

  /** Feature extraction: a new bar whenever a new pass starts (train files, then validation files). */
  features(done: number, total: number): void {
    if (total !== this.featureTotal || this.bar === undefined) {
      this.stop();
      this.featureTotal = total;
      this.bar = createProgress({ label: 'features', total, unit: 'img', json: this.json });
    }
    this.bar.update(done);
    if (done >= total) {
      this.stop();
      this.featureTotal = -1;
    }
  }

  line(text: string): void {
    this.stop();
    process.stderr.write(`${text}\n`);
  }

  stop(): void {
    this.bar?.stop();
    this.bar = undefined;
  }
}
