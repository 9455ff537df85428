import { existsSync } from 'node:fs';
import { deflateSync } from 'node:zlib';
import { recordSkip } from '@nst/runtime/test-tools';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { GCOMPRIS_RCC_DIR, gcomprisPainting, gcomprisPhotos, parseCredits } from './gcompris';
import { readQtResources } from './qt-resources';

/** A format-2 Qt resource bundle holding `files` (path → bytes), the ones named in `compress` zlib-compressed. */
function qtBundle(files: Record<string, Buffer>, compress: string[] = []): Buffer {
  type Node = { name: string; children?: Map<string, Node>; data?: Buffer; compressed?: boolean };
  const root: Node = { name: '', children: new Map() };
  for (const [path, data] of Object.entries(files)) {
    const parts = path.split('/');
    let node = root;
    for (const part of parts.slice(0, -1)) {
      if (!node.children!.has(part)) node.children!.set(part, { name: part, children: new Map() });
      node = node.children!.get(part)!;
    }
    node.children!.set(parts.at(-1)!, { name: parts.at(-1)!, data, compressed: compress.includes(path) });
  }
  // Breadth-first: a directory's children take consecutive entries, as rcc lays them out.
  const order: Node[] = [root];
  const firstChild = new Map<Node, number>();
  for (let i = 0; i < order.length; i += 1) {
    const node = order[i]!;
    if (node.children) {
      firstChild.set(node, order.length);
      order.push(...node.children.values());
    }
  }
  const names: Buffer[] = [];
  const nameOffset = new Map<Node, number>();
  let namesLength = 0;
  const datas: Buffer[] = [];
  const dataOffset = new Map<Node, number>();
  let dataLength = 0;
  for (const node of order.slice(1)) {
    const utf16 = Buffer.from(node.name, 'utf16le').swap16();
    const entry = Buffer.alloc(6 + utf16.length);
    entry.writeUInt16BE(node.name.length, 0);
    utf16.copy(entry, 6);
    nameOffset.set(node, namesLength);
    names.push(entry);
    namesLength += entry.length;
    if (node.data) {
      const payload = node.compressed ? Buffer.concat([Buffer.alloc(4), deflateSync(node.data)]) : node.data;
      const framed = Buffer.alloc(4 + payload.length);
      framed.writeUInt32BE(payload.length, 0);
      payload.copy(framed, 4);
      dataOffset.set(node, dataLength);
      datas.push(framed);
      dataLength += framed.length;
    }
  }
  const tree = Buffer.alloc(order.length * 22);
  order.forEach((node, i) => {
    const at = i * 22;
    tree.writeUInt32BE(nameOffset.get(node) ?? 0, at);
    if (node.children) {
      tree.writeUInt16BE(0x02, at + 4);
      tree.writeUInt32BE(node.children.size, at + 6);
      tree.writeUInt32BE(firstChild.get(node)!, at + 10);
    } else {
      tree.writeUInt16BE(node.compressed ? 0x01 : 0, at + 4);
      tree.writeUInt32BE(dataOffset.get(node)!, at + 10);
    }
  });
  const header = Buffer.alloc(24);
  header.write('qres', 0, 'latin1');
  header.writeUInt32BE(2, 4);
  header.writeUInt32BE(24, 8);
  header.writeUInt32BE(24 + tree.length, 12);
  header.writeUInt32BE(24 + tree.length + dataLength, 16);
  return Buffer.concat([header, tree, ...datas, ...names]);
}

describe('Qt resource bundles', () => {
  it('give back every file by its path, compressed or not', () => {
    const files = { 'gcompris/src/activities/erase/resource/README': Buffer.from('credits'), 'gcompris/src/activities/erase/resource/bee.webp': Buffer.from('bee bytes'), 'top.txt': Buffer.from('x') };
    const read = readQtResources(qtBundle(files, ['gcompris/src/activities/erase/resource/bee.webp']));
    expect(Object.fromEntries([...read].map(([k, v]) => [k, v.toString()]))).toEqual(Object.fromEntries(Object.entries(files).map(([k, v]) => [k, v.toString()])));
  });

  it('refuse a file that is not one', () => {
    expect(() => readQtResources(Buffer.from('PK\x03\x04 not a bundle'))).toThrow(/not a Qt resource bundle/);
  });
});

describe('GCompris credits', () => {
  it('read author, source and licence per file, for inline and listed file names', () => {
    const credits = parseCredits(`Copyright: Timothée Giet, 2022
License: CC-BY-SA 4.0
Files:
key.svg
egypt/egypt.svg

Copyright: Daniel Schwen
License: CC-BY-SA 4.0
Source: https://commons.wikimedia.org/wiki/File:Chichen_Itza_3.jpg
Files:
wonders/chichenItza.webp

Copyright: aussiegall
Source: https://commons.wikimedia.org/wiki/File:Pollinationn.jpg
License: public domain
Comments: cropping, sharpening
Files: bee.webp
`);
    expect(credits.get('wonders/chichenItza.webp')).toEqual({ copyright: 'Daniel Schwen', licence: 'CC-BY-SA-4.0', source: 'https://commons.wikimedia.org/wiki/File:Chichen_Itza_3.jpg' });
    expect(credits.get('bee.webp')).toEqual({ copyright: 'aussiegall', licence: 'public-domain', source: 'https://commons.wikimedia.org/wiki/File:Pollinationn.jpg' });
    expect(credits.get('egypt/egypt.svg')?.copyright).toBe('Timothée Giet, 2022');
  });
});

// The package itself is installed for building the photo set and the paintings
// (scripts/install-system-deps.sh training), not for the test suite: listed when absent, never failed.
const haveGcompris = existsSync(`${GCOMPRIS_RCC_DIR}/paintings.rcc`);
if (!haveGcompris) recordSkip({ suite: 'GCompris painting and photo extraction', reason: 'gcompris-qt-data not installed; run scripts/install-system-deps.sh training' });

describe.runIf(haveGcompris)('gcompris-qt-data on this machine', () => {
  it('puts a painting back together from its puzzle pieces with no board showing between them', async () => {
    const { png, caption } = await gcomprisPainting(22);
    expect(caption).toMatch(/Van Gogh, Village Street in Auvers/);
    const { width, height } = await sharp(png).metadata();
    expect(width).toBeGreaterThan(550);
    expect(height).toBeGreaterThan(400);
    // The assembly's background is black: a gap between pieces would show as black pixels.
    const { data } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    let black = 0;
    for (let i = 0; i < data.length; i += 3) if (data[i]! + data[i + 1]! + data[i + 2]! < 6) black += 1;
    expect(black / (data.length / 3)).toBeLessThan(0.001);
  });

  it('credits every photograph it gives', async () => {
    const photos = await gcomprisPhotos();
    expect(photos.length).toBeGreaterThanOrEqual(100);
    for (const photo of photos) expect(photo.credit.copyright).not.toBe('');
  });
});
