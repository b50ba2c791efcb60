/**
 * Data family: what the image folders themselves say. Needs `ctx.scan`. vggkit's own decoder
 * converts every colour model (grayscale, palette, alpha, CMYK, 16-bit) to 8-bit sRGB and honours
 * EXIF orientation, so those findings are `info` about other pipelines unless they become a
 * shortcut the model can learn.
 */
import { classCounts, examples, inputSize, percent, readable, resizeMode } from '../context.js';
import type { ImageErrorCode } from '../../image/errors.js';
import type { ImageRecord } from '../scan.js';
import type { Check, DoctorContext, Finding } from '../types.js';

/** Upscaling beyond 2x leaves less than a quarter of the input's pixels with real detail. */
export const MAX_UPSCALE = 2;
/**
 * The smallest input size the doctor suggests: 64 keeps a 2x2 block5 map. VGG accepts 32, but at
 * 56 (a 1x1 map) the bundled Fashion-MNIST sample learned markedly slower than at 64
 * (validation accuracy 0.79 vs 0.92 after 12 epochs, measured).
 */
export const MIN_SUGGESTED_INPUT_SIZE = 64;
/** Longer side over shorter side above 2: stretching to a square halves one axis' proportions. */
export const MAX_ASPECT = 2;
/** Fraction of images above which small or oddly shaped images are a warning rather than a note. */
export const SHAPE_WARN_FRACTION = 0.1;
/** Largest over smallest class above 3: below that, plain cross-entropy copes; above it the small class is drowned. */
export const IMBALANCE_RATIO = 3;
/** Fewer than 10 images in a class: a 20% validation split leaves it one or two images, accuracy is noise. */
export const MIN_IMAGES_PER_CLASS = 10;
/** A class that is at least half grayscale while another is at most 10% is separable by colour alone. */
export const GRAY_SHORTCUT_HIGH = 0.5;
export const GRAY_SHORTCUT_LOW = 0.1;
/** Leaked validation images above 2% move validation accuracy by more than its usual noise. */
export const LEAKAGE_ERROR_FRACTION = 0.02;

function scanned(ctx: DoctorContext): ImageRecord[] {
  return ctx.scan === undefined ? [] : [...ctx.scan.records];
}

function isStoredGray(r: ImageRecord): boolean {
  return r.space === 'b-w' || r.space === 'grey16' || (r.channels !== undefined && r.channels <= 2);
}

type DecodeFinding = 'corrupt-image' | 'not-an-image' | 'unreadable-image';

/**
 * Which finding reports a file the decoder rejects, by the decoder's own code: a new code must be
 * placed here, so the doctor cannot fall silent about a file training skips.
 */
const FINDING_OF_IMAGE_ERROR: Readonly<Record<ImageErrorCode, DecodeFinding>> = {
  TRUNCATED: 'corrupt-image',
  CORRUPT: 'corrupt-image',
  EMPTY_FILE: 'not-an-image',
  NOT_AN_IMAGE: 'not-an-image',
  UNREADABLE: 'unreadable-image',
  PIXEL_LIMIT: 'unreadable-image',
};

const DECODE_FINDINGS: Readonly<
  Record<DecodeFinding, { title: (n: number) => string; explanation: string; fix: string }>
> = {
  'corrupt-image': {
    title: (n) => `${n} image file(s) are truncated or corrupt`,
    explanation:
      'These files start like images but fail to decode to the end. vggkit skips and lists them; Keras and PyTorch loaders raise mid-epoch or silently train on grey padding.',
    fix: 'Re-export or delete the listed files.',
  },
  'not-an-image': {
    title: (n) => `${n} file(s) with an image extension are not images`,
    explanation:
      'These files are empty or in no image format, whatever their extension says. vggkit skips and lists them; other loaders crash on them mid-epoch.',
    fix: 'Delete the listed files or replace them with the real images.',
  },
  'unreadable-image': {
    title: (n) => `${n} image file(s) cannot be read`,
    explanation:
      'These files cannot be opened by this process (permissions), or declare more pixels than the decompression-bomb limit. vggkit skips and lists them, so they are never trained on.',
    fix: 'Fix the permissions, or shrink or delete the listed files.',
  },
};

function byCode(id: DecodeFinding): Check {
  return {
    ids: [id],
    family: 'data',
    run(ctx) {
      const bad = scanned(ctx).filter(
        (r) => r.error !== undefined && FINDING_OF_IMAGE_ERROR[r.error.code] === id,
      );
      if (bad.length === 0) return [];
      const text = DECODE_FINDINGS[id];
      return [
        {
          id,
          severity: 'warning',
          title: text.title(bad.length),
          explanation: text.explanation,
          evidence: {
            count: bad.length,
            files: bad
              .slice(0, 20)
              .map((r) => ({ file: r.file, code: r.error?.code, reason: r.error?.message })),
          },
          fix: { summary: text.fix },
        },
      ];
    },
  };
}

interface AttributeRule {
  readonly id: string;
  readonly match: (r: ImageRecord) => boolean;
  readonly title: (n: number, total: number) => string;
  readonly explanation: string;
  readonly fix: string;
}

/** Colour-model and orientation notes: info, because vggkit normalises them (the rule text says how). */
function attribute(rule: AttributeRule): Check {
  return {
    ids: [rule.id],
    family: 'data',
    run(ctx) {
      const all = readable(scanned(ctx));
      const hits = all.filter(rule.match);
      if (hits.length === 0) return [];
      return [
        {
          id: rule.id,
          severity: 'info',
          title: rule.title(hits.length, all.length),
          explanation: rule.explanation,
          evidence: {
            count: hits.length,
            of: all.length,
            fraction: hits.length / all.length,
            examples: examples(hits),
          },
          fix: { summary: rule.fix },
        },
      ];
    },
  };
}

const grayscale: Check = {
  ids: ['grayscale-images'],
  family: 'data',
  run(ctx) {
    const all = readable(scanned(ctx), 'train');
    const gray = all.filter(isStoredGray);
    if (gray.length === 0) return [];
    const perClass = [...classCounts(ctx).entries()]
      .filter(([, n]) => n > 0)
      .map(([name, n]) => ({
        name,
        gray: gray.filter((r) => r.className === name).length,
        total: n,
      }));
    const fractions = perClass.map((c) => c.gray / c.total);
    const shortcut =
      Math.max(...fractions) >= GRAY_SHORTCUT_HIGH &&
      Math.min(...fractions) <= GRAY_SHORTCUT_LOW &&
      perClass.length > 1;
    return [
      {
        id: 'grayscale-images',
        severity: shortcut ? 'warning' : 'info',
        title: shortcut
          ? 'Grayscale images are concentrated in some classes: colour alone predicts the label'
          : `${gray.length} of ${all.length} images are stored as grayscale`,
        explanation: shortcut
          ? 'The network can learn "grayscale means this class" instead of the content, and will fail on colour images of that class.'
          : "vggkit replicates the gray channel into RGB, which is what the ImageNet weights need. A pipeline that keeps one channel (cv2.IMREAD_GRAYSCALE, PIL mode 'L', color_mode='grayscale') feeds VGG16 the wrong input.",
        evidence: { count: gray.length, of: all.length, perClass, examples: examples(gray) },
        fix: {
          summary: shortcut
            ? 'Collect colour images for the mostly-grayscale classes, or convert every image to grayscale (and keep 3 channels) so colour carries no label information.'
            : 'Nothing to do with vggkit; in your own loader convert to RGB (PIL .convert("RGB"), color_mode="rgb").',
        },
      },
    ];
  },
};

const smallImages: Check = {
  ids: ['small-images'],
  family: 'data',
  run(ctx) {
    const size = inputSize(ctx);
    const all = readable(scanned(ctx));
    const small = all.filter(
      (r) =>
        r.width !== undefined &&
        r.height !== undefined &&
        Math.max(size / r.width, size / r.height) > MAX_UPSCALE,
    );
    if (small.length === 0) return [];
    const fraction = small.length / all.length;
    const inherent = small.length === all.length;
    // The size at which the median image is upscaled exactly MAX_UPSCALE times, never below 64.
    const shortSides = all
      .map((r) => Math.min(r.width ?? 0, r.height ?? 0))
      .filter((v) => v > 0)
      .sort((a, b) => a - b);
    const suggested = Math.max(
      MIN_SUGGESTED_INPUT_SIZE,
      MAX_UPSCALE * shortSides[Math.floor(shortSides.length / 2)],
    );
    const smallest = small.reduce((a, b) =>
      (a.width ?? 0) * (a.height ?? 0) <= (b.width ?? 0) * (b.height ?? 0) ? a : b,
    );
    return [
      {
        id: 'small-images',
        // A dataset of small images already at the smallest useful input size: no config change helps.
        severity:
          fraction >= SHAPE_WARN_FRACTION && !(inherent && suggested >= size) ? 'warning' : 'info',
        title: `${small.length} image(s) (${percent(small.length, all.length)}) are upscaled more than ${MAX_UPSCALE}x to ${size}x${size}`,
        explanation:
          'Upscaled images are blurry at the scale the pretrained filters expect, so the features carry less information than the network was built for.',
        evidence: {
          count: small.length,
          of: all.length,
          inputSize: size,
          smallest: `${smallest.width}x${smallest.height}`,
          examples: examples(small),
        },
        fix:
          suggested < size
            ? {
                summary: `Use larger source images, or train at --input-size ${suggested} (twice the typical short side, and at least ${MIN_SUGGESTED_INPUT_SIZE} so block5 keeps a 2x2 map).`,
                config: { inputSize: suggested },
                flag: `--input-size ${suggested}`,
              }
            : inherent
              ? {
                  summary: `Nothing to change in the config: ${size} is already the smallest useful input size for these images (block5 keeps a 2x2 map). Larger source images would help.`,
                }
              : {
                  summary:
                    'Replace the listed images with larger versions, or remove them: the rest of the data set is fine at this size.',
                },
      },
    ];
  },
};

const extremeAspect: Check = {
  ids: ['extreme-aspect'],
  family: 'data',
  run(ctx) {
    const resize = resizeMode(ctx);
    if (resize === 'pad') return [];
    const all = readable(scanned(ctx));
    const odd = all.filter(
      (r) =>
        r.width !== undefined &&
        r.height !== undefined &&
        Math.max(r.width / r.height, r.height / r.width) > MAX_ASPECT,
    );
    if (odd.length === 0) return [];
    const worst = Math.max(
      ...odd.map((r) =>
        Math.max(
          (r.width as number) / (r.height as number),
          (r.height as number) / (r.width as number),
        ),
      ),
    );
    return [
      {
        id: 'extreme-aspect',
        severity: odd.length / all.length >= SHAPE_WARN_FRACTION ? 'warning' : 'info',
        title: `${odd.length} image(s) have an aspect ratio beyond ${MAX_ASPECT}:1`,
        explanation:
          resize === 'stretch'
            ? 'The stretch resize squeezes them into a square, distorting shapes by more than 2x along one axis.'
            : 'The center crop keeps only the middle of them and cuts the rest away.',
        evidence: {
          count: odd.length,
          of: all.length,
          worstRatio: Number(worst.toFixed(2)),
          resize,
          examples: examples(odd),
        },
        fix: {
          summary:
            'Crop them to the object, or letterbox them (resize: pad) if predictions will be made the same way.',
          flag: '--resize pad',
        },
      },
    ];
  },
};

const mixedSizes: Check = {
  ids: ['mixed-sizes'],
  family: 'data',
  run(ctx) {
    const all = readable(scanned(ctx)).filter(
      (r) => r.width !== undefined && r.height !== undefined,
    );
    const sizes = new Set(all.map((r) => `${r.width}x${r.height}`));
    if (sizes.size <= 1) return [];
    const widths = all.map((r) => r.width as number);
    const heights = all.map((r) => r.height as number);
    return [
      {
        id: 'mixed-sizes',
        severity: 'info',
        title: `Images come in ${sizes.size} different sizes`,
        explanation: `Every image is resized to ${inputSize(ctx)}x${inputSize(ctx)} (${resizeMode(ctx)}); that is fine, but differently framed images are distorted or cropped differently.`,
        evidence: {
          distinctSizes: sizes.size,
          width: [Math.min(...widths), Math.max(...widths)],
          height: [Math.min(...heights), Math.max(...heights)],
        },
        fix: {
          summary:
            'Nothing required; check the extreme-aspect and small-images findings if present.',
        },
      },
    ];
  },
};

const classBalance: Check = {
  ids: ['class-imbalance', 'too-few-images', 'empty-class', 'single-class'],
  family: 'data',
  run(ctx) {
    if (ctx.scan === undefined) return [];
    const findings: Finding[] = [];
    const counts = classCounts(ctx);
    const valCounts = classCounts(ctx, 'val');
    const nonEmpty = [...counts.entries()].filter(([, n]) => n > 0);
    const empty = [...counts.entries(), ...valCounts.entries()]
      .filter(([, n]) => n === 0)
      .map(([name]) => name);
    const perClass = Object.fromEntries(counts);
    if (empty.length > 0) {
      findings.push({
        id: 'empty-class',
        severity: 'error',
        title: `${empty.length} class folder(s) contain no readable image: ${[...new Set(empty)].join(', ')}`,
        explanation:
          'A class with no examples still gets an output unit that can never be learned, and splits and class weights become undefined for it.',
        evidence: {
          classes: [...new Set(empty)],
          perClass,
          ...(ctx.scan.val === undefined ? {} : { valPerClass: Object.fromEntries(valCounts) }),
        },
        fix: { summary: 'Add images to these folders or delete them.' },
      });
    }
    if (nonEmpty.length === 1) {
      findings.push({
        id: 'single-class',
        severity: 'error',
        title: `Only one class has images (${nonEmpty[0][0]})`,
        explanation:
          'A classifier needs at least two classes; with one, every prediction is trivially right and nothing is learned.',
        evidence: { perClass, root: ctx.scan.train.root },
        fix: {
          summary:
            'Put each class in its own sub-folder of the data directory (data/cats/*.jpg, data/dogs/*.jpg).',
        },
      });
    }
    const few = nonEmpty.filter(([, n]) => n < MIN_IMAGES_PER_CLASS);
    if (few.length > 0) {
      findings.push({
        id: 'too-few-images',
        severity: 'warning',
        title: `${few.length} class(es) have fewer than ${MIN_IMAGES_PER_CLASS} images`,
        explanation:
          'With this few examples the validation split holds one or two images of the class, so its accuracy is noise and the head overfits them.',
        evidence: { classes: Object.fromEntries(few), minimum: MIN_IMAGES_PER_CLASS },
        fix: {
          summary: `Collect at least ${MIN_IMAGES_PER_CLASS} (better 50+) images per class, and use augmentation meanwhile.`,
          config: { augment: ['flip', 'rotate', 'zoom'] },
          flag: '--augment flip,rotate,zoom',
        },
      });
    }
    if (nonEmpty.length >= 2) {
      const sorted = [...nonEmpty].sort((a, b) => b[1] - a[1]);
      const ratio = sorted[0][1] / sorted[sorted.length - 1][1];
      if (ratio >= IMBALANCE_RATIO) {
        const handled = ctx.config?.classWeights === 'balanced';
        findings.push({
          id: 'class-imbalance',
          severity: handled ? 'info' : 'warning',
          title: `Classes are imbalanced ${ratio.toFixed(1)}:1 (${sorted[0][0]} ${sorted[0][1]} vs ${sorted[sorted.length - 1][0]} ${sorted[sorted.length - 1][1]})`,
          explanation: handled
            ? 'Balanced class weights are on, which compensates in the loss; watch per-class accuracy, not the overall figure.'
            : 'The network can reach high accuracy by favouring the large class; the small class is learned poorly and overall accuracy hides it.',
          evidence: { ratio: Number(ratio.toFixed(2)), perClass },
          fix: {
            summary: 'Weigh classes inversely to their size (or collect more of the small class).',
            ...(handled
              ? {}
              : {
                  config: { classWeights: 'balanced' as const },
                  flag: 'classWeights: "balanced" in --config',
                }),
          },
        });
      }
    }
    return findings;
  },
};

const duplicates: Check = {
  ids: ['duplicate-images', 'train-val-leakage'],
  family: 'data',
  run(ctx) {
    if (ctx.scan === undefined) return [];
    const findings: Finding[] = [];
    const within = ctx.scan.duplicates
      .flatMap((g) =>
        (['train', 'val'] as const).map((split) => ({
          kind: g.kind,
          members: g.members.filter((m) => m.split === split),
        })),
      )
      .filter((g) => g.members.length > 1);
    if (within.length > 0) {
      const conflicting = within.filter((g) => new Set(g.members.map((m) => m.className)).size > 1);
      const extra = within.reduce((s, g) => s + g.members.length - 1, 0);
      findings.push({
        id: 'duplicate-images',
        severity: 'warning',
        title: `${within.length} group(s) of duplicate images (${extra} redundant file(s))${conflicting.length > 0 ? `, ${conflicting.length} filed under different classes` : ''}`,
        explanation:
          'Duplicates weigh some images more than others, and when the validation set is split off automatically, copies land on both sides and inflate validation accuracy.' +
          (conflicting.length > 0
            ? ' Copies filed under different classes are contradictory labels.'
            : ''),
        evidence: {
          groups: within.length,
          exact: within.filter((g) => g.kind === 'exact').length,
          near: within.filter((g) => g.kind === 'near').length,
          conflictingLabels: conflicting.length,
          examples: within.slice(0, 5).map((g) => g.members.map((m) => m.file)),
        },
        fix: {
          summary: 'Keep one file of each group (and the right class for contradictory ones).',
        },
      });
    }
    const across = ctx.scan.duplicates.filter(
      (g) => g.members.some((m) => m.split === 'train') && g.members.some((m) => m.split === 'val'),
    );
    if (across.length > 0) {
      const valTotal = readable(ctx.scan.records, 'val').length;
      const leaked = across.reduce(
        (s, g) => s + g.members.filter((m) => m.split === 'val').length,
        0,
      );
      findings.push({
        id: 'train-val-leakage',
        severity: leaked / Math.max(1, valTotal) >= LEAKAGE_ERROR_FRACTION ? 'error' : 'warning',
        title: `${leaked} validation image(s) (${percent(leaked, valTotal)}) also appear in the training set`,
        explanation:
          'The model is validated on images it trained on, so validation accuracy overstates how it does on new images.',
        evidence: {
          leaked,
          valImages: valTotal,
          exact: across.filter((g) => g.kind === 'exact').length,
          near: across.filter((g) => g.kind === 'near').length,
          examples: across.slice(0, 5).map((g) => g.members.map((m) => m.file)),
        },
        fix: { summary: 'Remove the listed copies from one of the two folders.' },
      });
    }
    return findings;
  },
};

const strayFiles: Check = {
  ids: ['stray-files'],
  family: 'data',
  run(ctx) {
    if (ctx.scan === undefined) return [];
    const stray = [...ctx.scan.train.strayFiles, ...(ctx.scan.val?.strayFiles ?? [])];
    if (stray.length === 0) return [];
    const rootImages = ctx.scan.records.filter((r) => r.className === undefined).map((r) => r.file);
    return [
      {
        id: 'stray-files',
        severity: rootImages.length > 0 ? 'warning' : 'info',
        title:
          rootImages.length > 0
            ? `${rootImages.length} image(s) lie outside any class folder and are ignored`
            : `${stray.length} non-image file(s) in the class folders are ignored`,
        explanation:
          rootImages.length > 0
            ? 'Only images inside class sub-folders are trained on; images in the root belong to no class.'
            : 'Files without an image extension are skipped; they are listed in case an image was saved with the wrong extension.',
        evidence: { count: stray.length, rootImages: rootImages.length, files: stray.slice(0, 20) },
        fix: {
          summary:
            rootImages.length > 0
              ? 'Move the root images into the folder of their class.'
              : 'Nothing required; delete them to keep the dataset tidy.',
        },
      },
    ];
  },
};

export const DATA_CHECKS: readonly Check[] = [
  byCode('corrupt-image'),
  byCode('not-an-image'),
  byCode('unreadable-image'),
  grayscale,
  attribute({
    id: 'alpha-channel',
    match: (r) => r.hasAlpha === true,
    title: (n, t) => `${n} of ${t} images have an alpha channel`,
    explanation:
      "vggkit flattens transparency onto black. PIL's .convert('RGB') and cv2.imread drop alpha instead, exposing whatever colour hides under transparent pixels — so predictions differ between pipelines.",
    fix: 'Nothing to do with vggkit; flatten alpha onto a fixed background in any other pipeline you use.',
  }),
  attribute({
    id: 'cmyk-images',
    match: (r) => r.space === 'cmyk',
    title: (n, t) => `${n} of ${t} images are CMYK`,
    explanation:
      'vggkit converts CMYK to sRGB with the embedded profile. Loaders that read the raw channels (or drop the fourth) produce washed-out or inverted colours.',
    fix: 'Nothing to do with vggkit; convert them to sRGB once (e.g. sharp/ImageMagick) if other tools read them.',
  }),
  attribute({
    id: 'sixteen-bit-images',
    match: (r) => r.depth === 'ushort' || r.space === 'rgb16' || r.space === 'grey16',
    title: (n, t) => `${n} of ${t} images have 16 bits per channel`,
    explanation:
      'vggkit scales them to 8 bits. Pipelines that cast 16-bit values straight to float feed values up to 65535, 256x the range the weights expect.',
    fix: 'Nothing to do with vggkit; in your own loader scale 16-bit images by 1/257 to 0..255.',
  }),
  attribute({
    id: 'exif-rotated',
    match: (r) => (r.orientation ?? 1) > 1,
    title: (n, t) => `${n} of ${t} images carry an EXIF rotation`,
    explanation:
      "vggkit rotates them upright as viewers show them. Keras' load_img and plain PIL ignore EXIF orientation, so those pipelines train on sideways images.",
    fix: 'Nothing to do with vggkit; apply ImageOps.exif_transpose in PIL-based pipelines, or bake the rotation into the files.',
  }),
  smallImages,
  extremeAspect,
  mixedSizes,
  classBalance,
  duplicates,
  strayFiles,
];
