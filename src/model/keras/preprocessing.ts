/**
 * The preprocessing a Keras model applies to its own input (analyse.ts folds it into one affine
 * map of the raw RGB pixels), explained as the known steps it is made of: the Keras
 * preprocess_input modes (keras/src/applications/imagenet_utils.py) and Rescaling(1./255), alone
 * or two in a row. The doctor names what it finds; the converter turns a single known mode into
 * vggkit's contract and runs anything else as an explicit input transform.
 */
import { numericsFor, type PreprocessMode } from '../../image/contract.js';
import type { AffineMap } from './analyse.js';

export interface Stage {
  /** How the step is written in Keras. */
  readonly name: string;
  readonly map: AffineMap;
}

export function modeMap(mode: PreprocessMode): AffineMap {
  const n = numericsFor(mode);
  const source: [number, number, number] = n.channelOrder === 'bgr' ? [2, 1, 0] : [0, 1, 2];
  return {
    source,
    scale: [0, 1, 2].map((c) => n.scale / (n.std[c] as number)) as [number, number, number],
    offset: [0, 1, 2].map((c) => -(n.mean[c] as number) / (n.std[c] as number)) as [
      number,
      number,
      number,
    ],
  };
}

/** `second` applied to what `first` produced. */
export function compose(first: AffineMap, second: AffineMap): AffineMap {
  const pick = <T>(values: readonly T[], c: number): T => values[second.source[c] as number] as T;
  return {
    source: [0, 1, 2].map((c) => first.source[second.source[c] as number]) as [
      number,
      number,
      number,
    ],
    scale: [0, 1, 2].map((c) => (second.scale[c] as number) * pick(first.scale, c)) as [
      number,
      number,
      number,
    ],
    offset: [0, 1, 2].map(
      (c) => (second.scale[c] as number) * pick(first.offset, c) + (second.offset[c] as number),
    ) as [number, number, number],
  };
}

export function close(a: AffineMap, b: AffineMap): boolean {
  const near = (x: number, y: number): boolean =>
    Math.abs(x - y) <= 1e-3 * Math.max(1, Math.abs(y));
  return [0, 1, 2].every(
    (c) =>
      a.source[c] === b.source[c] &&
      near(a.scale[c] as number, b.scale[c] as number) &&
      near(a.offset[c] as number, b.offset[c] as number),
  );
}

export const STAGES: readonly Stage[] = [
  { name: 'preprocess_input (caffe)', map: modeMap('caffe') },
  { name: 'torch-mode normalisation', map: modeMap('torch') },
  { name: 'tf-mode scaling (x/127.5 - 1)', map: modeMap('tf') },
  {
    name: 'Rescaling(1./255)',
    map: { source: [0, 1, 2], scale: [1 / 255, 1 / 255, 1 / 255], offset: [0, 0, 0] },
  },
];

/** The one or two known steps the map is made of, or undefined when it is none of them. */
export function explainPreprocessing(map: AffineMap): readonly Stage[] | undefined {
  if (close(map, modeMap('none'))) return [];
  for (const stage of STAGES) if (close(map, stage.map)) return [stage];
  for (const a of STAGES)
    for (const b of STAGES) if (close(map, compose(a.map, b.map))) return [a, b];
  return undefined;
}

/** The vggkit mode equal to `map`, when it is exactly one of them. */
export function modeOf(map: AffineMap): PreprocessMode | undefined {
  const modes: readonly PreprocessMode[] = ['caffe', 'torch', 'tf', 'none'];
  return modes.find((mode) => close(map, modeMap(mode)));
}
