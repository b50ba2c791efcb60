/**
 * Thumbnails for reports (the doctor's example images, train's top losses): the image as vggkit
 * reads it — the same header checks, pixel limit, EXIF rotation and sRGB conversion as training
 * (decode.ts) — so a report never shows a picture the trainer saw differently. Alpha goes onto
 * white, as an image viewer shows it.
 */
import { openImage } from './decode.js';

/** Longest side of a report thumbnail, in pixels. */
export const THUMB_SIZE = 96;

/** A JPEG at most `size` on its longest side; throws the decoder's ImageError on a bad file. */
export async function thumbnailJpeg(file: string, size = THUMB_SIZE): Promise<Buffer> {
  const { pipeline } = await openImage(file, { background: [255, 255, 255] });
  return pipeline.resize(size, size, { fit: 'inside' }).jpeg({ quality: 75 }).toBuffer();
}
