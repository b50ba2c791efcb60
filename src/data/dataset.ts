/**
 * `image_dataset_from_directory`-style datasets: one sub-folder per class, class names sorted, a
 * stratified and seedable validation split or an explicit validation folder. Only paths are
 * gathered here; decoding (and skipping files that fail to decode) happens when images are read.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { entryKind, hasImageExtension, listFiles, readFolder } from './files.js';
import { invalidOption, unreadableInput, VggkitError } from '../util/errors.js';
import { Random } from '../util/random.js';

export interface LabeledFile {
  readonly file: string;
  /** Index into `classNames`. */
  readonly label: number;
}

export interface ClassFolderScan {
  /** Sub-folder names in sorted order: the label of a file is the index of its folder here. */
  readonly classNames: string[];
  /** Files of every class, class by class, each class's files in sorted order. */
  readonly items: LabeledFile[];
  /** Class folders with no image file in them. */
  readonly emptyClasses: string[];
  /** Image files lying directly in the dataset folder: they belong to no class, so they are unused. */
  readonly strayFiles: string[];
  /** Files without an image extension, in the dataset folder or its class folders: never read. */
  readonly ignoredFiles: string[];
}

export interface FolderDataset {
  readonly classNames: string[];
  readonly train: LabeledFile[];
  readonly val: LabeledFile[];
  /** Classes with no image in the training folder, or (with `val`) in the validation folder. */
  readonly emptyClasses: string[];
  readonly strayFiles: string[];
}

export interface FolderDatasetOptions {
  readonly dir: string;
  /** An explicit validation folder with the same class sub-folders; replaces `valSplit`. */
  readonly val?: string | undefined;
  readonly valSplit: number;
  readonly seed: number;
}

/** Byte-wise order, as Python's `sorted()` gives Keras, independent of the locale. */
function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export async function scanClassFolders(dir: string): Promise<ClassFolderScan> {
  const info = await stat(dir).catch((cause: unknown) => {
    throw unreadableInput('NOT_FOUND', `${dir}: no such directory`, { file: dir, cause });
  });
  if (!info.isDirectory()) {
    throw unreadableInput(
      'NOT_A_DIRECTORY',
      `${dir}: expected a folder with one sub-folder per class, received a file`,
      { file: dir },
    );
  }
  const entries = (await readFolder(dir)).filter((e) => !e.name.startsWith('.'));
  const classNames: string[] = [];
  const strayFiles: string[] = [];
  const ignoredFiles: string[] = [];
  for (const entry of entries) {
    const kind = await entryKind(dir, entry);
    if (kind === 'directory') classNames.push(entry.name);
    else if (kind === 'file')
      (hasImageExtension(entry.name) ? strayFiles : ignoredFiles).push(join(dir, entry.name));
  }
  classNames.sort(compareNames);
  strayFiles.sort(compareNames);
  const items: LabeledFile[] = [];
  const emptyClasses: string[] = [];
  for (const [label, name] of classNames.entries()) {
    const { images, ignored } = await listFiles([join(dir, name)]);
    if (images.length === 0) emptyClasses.push(name);
    for (const file of images) items.push({ file, label });
    ignoredFiles.push(...ignored);
  }
  ignoredFiles.sort(compareNames);
  // Nothing to train on, evaluate or diagnose: the folder named on the command line is not a
  // dataset (exit 2), unlike an empty class among full ones, which the doctor reports.
  if (classNames.length === 0)
    throw unreadableInput(
      'TOO_FEW_CLASSES',
      `${dir}: expected one sub-folder per class, found no class folder` +
        (strayFiles.length > 0 ? ` (${strayFiles.length} image(s) lie in the folder itself)` : ''),
      { file: dir },
    );
  if (items.length === 0)
    throw unreadableInput(
      'NO_IMAGES',
      `${dir}: expected image files in the class folders (${classNames.join(', ')}), found none`,
      { file: dir },
    );
  return { classNames, items, emptyClasses, strayFiles, ignoredFiles };
}

/**
 * Splits each class on its own so validation keeps the class proportions. Each class gets
 * `round(n * valSplit)` validation files, at least one when it has two or more files and never all
 * of them, so every class is both trained on and measured. Files are drawn with a `Random` seeded by
 * `seed`; both outputs keep the input order.
 */
export function stratifiedSplit(
  items: readonly LabeledFile[],
  valSplit: number,
  seed: number,
): { train: LabeledFile[]; val: LabeledFile[] } {
  if (!(valSplit >= 0 && valSplit < 1))
    throw invalidOption('valSplit', 'a number in [0, 1)', valSplit);
  const byLabel = new Map<number, number[]>();
  for (const [index, item] of items.entries()) {
    const list = byLabel.get(item.label) ?? [];
    list.push(index);
    byLabel.set(item.label, list);
  }
  const random = new Random(seed);
  const isVal = new Uint8Array(items.length);
  for (const label of [...byLabel.keys()].sort((a, b) => a - b)) {
    const indices = byLabel.get(label) as number[];
    const n = indices.length;
    if (valSplit === 0 || n < 2) continue;
    const count = Math.min(n - 1, Math.max(1, Math.round(n * valSplit)));
    for (const index of random.shuffle([...indices]).slice(0, count)) isVal[index] = 1;
  }
  return {
    train: items.filter((_, i) => isVal[i] === 0),
    val: items.filter((_, i) => isVal[i] === 1),
  };
}

export async function loadFolderDataset(options: FolderDatasetOptions): Promise<FolderDataset> {
  const scan = await scanClassFolders(options.dir);
  if (scan.classNames.length < 2) {
    throw unreadableInput(
      'TOO_FEW_CLASSES',
      `${options.dir}: expected at least 2 class sub-folders, received ${scan.classNames.length}` +
        (scan.classNames.length === 1 ? ` (${scan.classNames[0]})` : ''),
      { file: options.dir },
    );
  }
  if (options.val === undefined) {
    const { train, val } = stratifiedSplit(scan.items, options.valSplit, options.seed);
    return {
      classNames: scan.classNames,
      train,
      val,
      emptyClasses: scan.emptyClasses,
      strayFiles: scan.strayFiles,
    };
  }
  const valScan = await scanClassFolders(options.val);
  const missing = scan.classNames.filter((name) => !valScan.classNames.includes(name));
  const extra = valScan.classNames.filter((name) => !scan.classNames.includes(name));
  if (missing.length > 0 || extra.length > 0) {
    const parts = [
      missing.length > 0 ? `missing ${missing.join(', ')}` : '',
      extra.length > 0 ? `extra ${extra.join(', ')}` : '',
    ].filter((p) => p !== '');
    throw new VggkitError(
      'CLASS_MISMATCH',
      `${options.val}: expected the same class folders as ${options.dir} (${scan.classNames.join(', ')}), received ${parts.join('; ')}`,
      { file: options.val },
    );
  }
  return {
    classNames: scan.classNames,
    train: scan.items,
    val: valScan.items,
    emptyClasses: [...new Set([...scan.emptyClasses, ...valScan.emptyClasses])].sort(compareNames),
    strayFiles: [...scan.strayFiles, ...valScan.strayFiles],
  };
}
