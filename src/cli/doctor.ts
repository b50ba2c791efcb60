/** `vggkit doctor`: why a VGG16 fine-tune is not working — findings with evidence and fixes. */
import type { Command } from 'commander';
import type { DoctorInputs } from '../doctor/inputs.js';
import { DEFAULT_PROBE_IMAGES } from '../doctor/probe-results.js';
import { lazyAction } from './run-command.js';

/** The CLI's flags: the library's inputs as commander delivers them, plus output options. */
export type DoctorFlags = Omit<
  DoctorInputs,
  'dataDir' | 'probeImages' | 'cacheDir' | 'onScanProgress' | 'log' | 'history' | 'classes'
> & {
  readonly probeImages?: string;
  readonly history?: readonly string[];
  readonly classes?: string;
  readonly json?: boolean;
  readonly html?: string;
  readonly fixConfig?: string;
  readonly verify?: boolean;
  /** false with --no-measure: write the rules' fixes without measuring them. */
  readonly measure?: boolean;
};

export function registerDoctorCommand(program: Command): void {
  program
    .command('doctor')
    .description(
      'diagnose a fine-tune: data folders, config, training history, input batches, a model folder and (--probe) short training probes; exit 0 when no error is found, 1 when any is, 2 on a usage error or an input it cannot read (the data folder missing, a file, or holding no class folder or no image; a --config, --history, --batch, --keras or --keras-weights file or --model folder missing or not parseable)',
    )
    .argument('[data-dir]', 'image folder with one sub-folder per class')
    .option('--val <dir>', 'validation folder (same class sub-folders)')
    .option('--config <file>', 'vggkit training config JSON (partial allowed)')
    .option(
      '--history <file>',
      'training log: vggkit history.json, Keras CSVLogger CSV, Keras History.history JSON or a pandas dump of it; give it twice for phase 1 then phase 2 of a fine-tune',
      (file: string, previous: readonly string[] | undefined) => [...(previous ?? []), file],
    )
    .option(
      '--classes <n>',
      'number of classes, for the chance level when no data folder or model is given',
    )
    .option('--batch <file>', 'a .npy batch your pipeline fed the model (NHWC or NCHW)')
    .option('--expect <mode>', 'preprocessing the batch should have: caffe, torch, tf, none')
    .option('--weights <tag>', 'weights whose preprocessing contract the batch should follow')
    .option(
      '--model <dir>',
      'a vggkit model folder: check its metadata and evaluate it on the data',
    )
    .option(
      '--keras <model>',
      'your own Keras model (.keras, model.save .h5, model.to_json() JSON, TF.js model.json): check its layers, loss, optimizer and freezing',
    )
    .option(
      '--keras-weights <file.h5>',
      'with --keras MODEL.json (model.to_json(), the architecture only): the .h5 model.save_weights wrote, loaded as model.load_weights does (needed to run it: --probe)',
    )
    .option(
      '--probe',
      'short training probes on a sample: initial loss, overfit one batch, LR range test, gradients, dead ReLUs, forgetting',
    )
    .option(
      '--probe-images <n>',
      'images the probes sample (stratified, seeded)',
      String(DEFAULT_PROBE_IMAGES),
    )
    .option('--features', 'compute image features to find suspected mislabels (implied by --probe)')
    .option('--offline', 'never download weights')
    .option('--json', 'print {findings, summary} as JSON')
    .option('--html <file>', 'write a self-contained HTML report')
    .option(
      '--fix-config <out>',
      'write the fixed config; with the data folder and --config, its values are measured first: candidate fixes (your config among them) trained briefly on your images, the best written only if it beats yours',
    )
    .option(
      '--verify',
      'train the chosen fix and your config for your whole epoch budget and report both (written only if the fix still wins)',
    )
    .option('--no-measure', "write the rules' fixes without training candidates (advice)")
    .action(lazyAction(async () => (await import('./actions/doctor.js')).doctor));
}
