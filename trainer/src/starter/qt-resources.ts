/**
 * Reads Qt resource bundles (.rcc): GCompris's Debian package (gcompris-qt-data) keeps its
 * photographs and painting reproductions inside them. Hand-written because no npm package reads
 * the format; it is small and documented in Qt's rcc source (qtbase/src/tools/rcc/rcc.cpp):
 * a 'qres' header, a tree of fixed-size entries, a names table (UTF-16BE) and a data table of
 * length-prefixed payloads, zlib-compressed when flagged (zstd is not used by Debian's build).
 */
import { readFile } from 'node:fs/promises';
import { inflateSync } from 'node:zlib';

const FLAG_COMPRESSED = 0x01;
const FLAG_DIRECTORY = 0x02;
const FLAG_COMPRESSED_ZSTD = 0x04;

/** Every file in the bundle, by its path inside it (e.g. 'gcompris/src/activities/erase/resource/bee.webp'). */
export function readQtResources(bundle: Buffer): Map<string, Buffer> {
  if (bundle.subarray(0, 4).toString('latin1') !== 'qres') throw new Error('not a Qt resource bundle (no qres header)');
  const version = bundle.readUInt32BE(4);
  const tree = bundle.readUInt32BE(8);
  const data = bundle.readUInt32BE(12);
  const names = bundle.readUInt32BE(16);
  // Format 2 and later add an 8-byte modification time to each entry.
  const entrySize = version >= 2 ? 22 : 14;
  const files = new Map<string, Buffer>();
  const nameAt = (offset: number): string => {
    const length = bundle.readUInt16BE(names + offset);
    const start = names + offset + 6; // length (2) + hash (4)
    // Copied first: swap16 works in place and would scramble the bundle.
    return Buffer.from(bundle.subarray(start, start + 2 * length)).swap16().toString('utf16le');
  };
  const walk = (index: number, prefix: string, depth: number): void => {
    if (depth > 64) throw new Error('Qt resource bundle nests too deeply');
    const base = tree + index * entrySize;
    const flags = bundle.readUInt16BE(base + 4);
    const name = index === 0 ? '' : nameAt(bundle.readUInt32BE(base));
    const path = prefix && name ? `${prefix}/${name}` : prefix || name;
    if (flags & FLAG_DIRECTORY) {
      const count = bundle.readUInt32BE(base + 6);
      const first = bundle.readUInt32BE(base + 10);
      for (let child = 0; child < count; child += 1) walk(first + child, path, depth + 1);
      return;
    }
    const offset = data + bundle.readUInt32BE(base + 10);
    const length = bundle.readUInt32BE(offset);
    // subarray shares the bundle's memory; copy so a caller can keep one file without the rest.
    let payload = Buffer.from(bundle.subarray(offset + 4, offset + 4 + length));
    if (flags & FLAG_COMPRESSED_ZSTD) throw new Error(`${path}: zstd-compressed Qt resources are not supported`);
    if (flags & FLAG_COMPRESSED) payload = inflateSync(payload.subarray(4)); // 4-byte uncompressed size first
    files.set(path, payload);
  };
  walk(0, '', 0);
  return files;
}

export async function readQtResourceFile(path: string): Promise<Map<string, Buffer>> {
  return readQtResources(await readFile(path));
}
