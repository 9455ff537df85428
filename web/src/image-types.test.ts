import { describe, expect, it } from 'vitest';
import { ACCEPTED_FORMATS_TEXT, refusalOf } from './image-types';

describe('what the photo picker refuses', () => {
  it('refuses files of another kind, naming every format the server reads', () => {
    expect(refusalOf({ name: 'notes.txt', type: 'text/plain' })).toBe('“notes.txt” is not an image. Pick a JPEG, PNG, WebP, AVIF, TIFF or GIF file.');
    expect(ACCEPTED_FORMATS_TEXT.split(/, | or /)).toEqual(['JPEG', 'PNG', 'WebP', 'AVIF', 'TIFF', 'GIF']);
  });

  it('lets images through, and files the browser cannot type, for the server to judge', () => {
    expect(refusalOf({ name: 'cut.jpg', type: 'image/jpeg' })).toBeUndefined();
    expect(refusalOf({ name: 'photo.heic', type: '' })).toBeUndefined();
  });
});
