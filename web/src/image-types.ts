/**
 * What the photo picker accepts, in one place, so the hint, the refusal and the server agree
 * (StyleService reads JPEG, PNG, WebP, AVIF, TIFF and GIF).
 */
export const ACCEPTED_FORMATS_TEXT = 'JPEG, PNG, WebP, AVIF, TIFF or GIF';

/**
 * Why a picked file is refused before upload, or undefined when it may be an image. An empty
 * type passes: browsers leave it blank for formats they do not know, and the server decides.
 */
export function refusalOf(file: { name: string; type: string }): string | undefined {
  if (file.type === '' || file.type.startsWith('image/')) return undefined;
  return `“${file.name}” is not an image. Pick a ${ACCEPTED_FORMATS_TEXT} file.`;
}
