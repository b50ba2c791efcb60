/**
 * Neighbour family (data findings that need image features, ctx.features): an image whose nearest
 * training images, by cosine similarity of pooled block5 features, agree on a class other than
 * its own folder is probably in the wrong folder. Runs only when features were computed
 * (`--features` or `--probe`), so plain data checks stay fast.
 */
import { MAX_EXAMPLES, readable } from '../context.js';
import type { ImageRecord } from '../scan.js';
import type { Check } from '../types.js';

/** Neighbours consulted: 5, the usual k for label-noise detection (cleanlab-style kNN). */
export const NEIGHBOURS = 5;
/** Neighbours that must agree on one other class: 4 of 5 leaves room for one neighbour of the image's own class. */
export const MISLABEL_AGREEMENT = 4;
/** Suspects quoted in the evidence (the HTML report shows the first MAX_EXAMPLES as thumbnails). */
export const MAX_SUSPECTS = 50;

interface Suspect {
  readonly file: string;
  readonly label: string;
  readonly neighbourClass: string;
  readonly neighbours: readonly string[];
}

function unit(v: Float32Array): Float32Array {
  let sum = 0;
  for (const x of v) sum += x * x;
  const norm = Math.sqrt(sum);
  return norm === 0 ? v : v.map((x) => x / norm);
}

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] as number) * (b[i] as number);
  return s;
}

const mislabel: Check = {
  ids: ['suspected-mislabel'],
  family: 'data',
  run(ctx) {
    const features = ctx.features;
    if (features === undefined || ctx.scan === undefined) return [];
    const withFeatures = (
      records: readonly ImageRecord[],
    ): { record: ImageRecord; v: Float32Array }[] =>
      records.flatMap((record) => {
        const v = features.get(record.file);
        return v === undefined ? [] : [{ record, v: unit(v) }];
      });
    const train = withFeatures(readable(ctx.scan.records, 'train'));
    const all = withFeatures(readable(ctx.scan.records));
    if (new Set(train.map((t) => t.record.className)).size < 2 || train.length <= NEIGHBOURS)
      return [];
    const suspects: Suspect[] = [];
    for (const item of all) {
      const nearest = train
        .filter((t) => t.record.file !== item.record.file)
        .map((t) => ({ t, similarity: dot(item.v, t.v) }))
        .sort((a, b) => b.similarity - a.similarity)
        .slice(0, NEIGHBOURS);
      const votes = new Map<string, number>();
      for (const n of nearest)
        votes.set(
          n.t.record.className as string,
          (votes.get(n.t.record.className as string) ?? 0) + 1,
        );
      const [top, count] = [...votes].sort((a, b) => b[1] - a[1])[0] ?? ['', 0];
      if (count >= MISLABEL_AGREEMENT && top !== item.record.className) {
        suspects.push({
          file: item.record.file,
          label: item.record.className as string,
          neighbourClass: top,
          neighbours: nearest.map((n) => n.t.record.file),
        });
      }
    }
    if (suspects.length === 0) return [];
    // Random weights give only rough similarities: the suspects are worth a look, not an alarm.
    const randomFeatures = ctx.featuresWeights === 'none';
    return [
      {
        id: 'suspected-mislabel',
        severity: randomFeatures ? 'info' : 'warning',
        title: `${suspects.length} image${suspects.length === 1 ? '' : 's'} look${suspects.length === 1 ? 's' : ''} like another class: e.g. ${suspects[0]?.file} (in ${suspects[0]?.label}, neighbours ${suspects[0]?.neighbourClass})`,
        explanation: `At least ${MISLABEL_AGREEMENT} of the ${NEIGHBOURS} most similar training images belong to one other class: the image is probably in the wrong folder (or the classes overlap). Wrong labels teach the model contradictions.${randomFeatures ? ' The features come from randomly initialised weights (--weights none), so similarity is only rough.' : ''}`,
        evidence: {
          count: suspects.length,
          suspects: suspects.slice(0, MAX_SUSPECTS),
          examples: suspects.slice(0, MAX_EXAMPLES).map((s) => s.file),
          k: NEIGHBOURS,
          agreement: MISLABEL_AGREEMENT,
        },
        fix: {
          summary:
            'Look at the listed images and move each to its right class folder (or delete it).',
        },
      },
    ];
  },
};

export const NEIGHBOUR_CHECKS: readonly Check[] = [mislabel];
