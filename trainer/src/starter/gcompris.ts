/**
 * Photographs and painting reproductions from Debian's gcompris-qt-data (GCompris 3.1), read
 * out of its Qt resource bundles in /usr/share/gcompris-qt/rcc:
 * - photos: the activities whose resource folders credit every photograph in a README
 *   (author, Wikimedia Commons source, licence), so each shipped copy carries its own credit;
 * - paintings: the "paintings" puzzle cuts public-domain masterpieces into pieces and places
 *   them on a 702x515 board by their centres; putting the pieces back gives the whole picture.
 */
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { readQtResourceFile } from './qt-resources';

export const GCOMPRIS_PACKAGE = 'gcompris-qt-data';
export const GCOMPRIS_RCC_DIR = '/usr/share/gcompris-qt/rcc';
const ACTIVITIES = 'gcompris/src/activities';

export interface Credit {
  copyright: string;
  licence: string;
  source?: string;
}

/** A photograph inside a bundle, with its credit. */
export interface BundledPhoto {
  /** `<bundle>.rcc:<path inside>` */
  origin: string;
  /** A file name unique across the activities, e.g. 'erase-alpaca'. */
  name: string;
  bytes: Buffer;
  credit: Credit;
}

async function bundle(name: string): Promise<Map<string, Buffer>> {
  const path = join(GCOMPRIS_RCC_DIR, `${name}.rcc`);
  try {
    await access(path);
  } catch {
    throw new Error(`${path} is missing: install Debian package ${GCOMPRIS_PACKAGE} (scripts/install-system-deps.sh training)`);
  }
  return readQtResourceFile(path);
}

/**
 * GCompris's README credit files: blank-line separated stanzas of `Copyright:`, `Source:`,
 * `License:` and `Files:` (names inline or one per following line), paths relative to the
 * README's folder.
 */
export function parseCredits(text: string): Map<string, Credit> {
  const credits = new Map<string, Credit>();
  for (const stanza of text.split(/\n\s*\n/)) {
    const fields: Record<string, string> = {};
    const files: string[] = [];
    let inFiles = false;
    for (const raw of stanza.split('\n')) {
      const line = raw.trim();
      if (!line) continue;
      const field = /^([A-Za-z]+):\s*(.*)$/.exec(line);
      if (field && !(inFiles && !/^(Copyright|Source|License|Comments?)$/i.test(field[1]!))) {
        const key = field[1]!.toLowerCase();
        inFiles = key === 'files';
        if (inFiles) files.push(...field[2]!.split(/\s+/).filter(Boolean));
        else fields[key] = field[2]!;
      } else if (inFiles) {
        files.push(...line.split(/\s+/));
      }
    }
    if (!fields['copyright'] || !fields['license']) continue;
    const credit: Credit = { copyright: fields['copyright'], licence: spdx(fields['license']), ...(fields['source'] ? { source: fields['source'] } : {}) };
    for (const file of files) credits.set(file, credit);
  }
  return credits;
}

/** 'CC-BY-SA 4.0' → 'CC-BY-SA-4.0': the READMEs write licences loosely. */
function spdx(licence: string): string {
  const id = licence.trim().replace(/\s+/g, '-');
  if (/^public-domain$/i.test(id)) return 'public-domain';
  return id.replace(/^CC-?0$/i, 'CC0-1.0');
}

/** The activities whose photographs train styles, and the resource folders that hold them. */
export const PHOTO_ACTIVITIES = [
  { activity: 'erase', folders: ['resource'] },
  { activity: 'explore_monuments', folders: ['resource'] },
  { activity: 'explore_world_animals', folders: ['resource/animals'] },
  { activity: 'explore_farm_animals', folders: ['resource/animals'] },
] as const;

/** Every credited raster image of the photo activities (their SVG icons and maps are not photos). */
export async function gcomprisPhotos(): Promise<BundledPhoto[]> {
  const photos: BundledPhoto[] = [];
  for (const { activity, folders } of PHOTO_ACTIVITIES) {
    const files = await bundle(activity);
    for (const folder of folders) {
      const root = `${ACTIVITIES}/${activity}/${folder}`;
      const readme = files.get(`${root}/README`);
      if (!readme) throw new Error(`${activity}.rcc has no ${root}/README to credit its photos`);
      const credits = parseCredits(readme.toString('utf8'));
      for (const [path, bytes] of [...files].sort(([a], [b]) => a.localeCompare(b))) {
        if (!path.startsWith(`${root}/`) || !/\.(webp|jpe?g|png)$/i.test(path)) continue;
        const relative = path.slice(root.length + 1);
        const credit = credits.get(relative);
        if (!credit) continue; // uncredited files are drawings (boards, keys), not photographs
        const name = `${activity.replace(/_/g, '-')}-${relative.replace(/\.[^.]+$/, '').replace(/[^A-Za-z0-9]+/g, '-')}`;
        photos.push({ origin: `${GCOMPRIS_RCC_DIR}/${activity}.rcc:${path}`, name, bytes, credit });
      }
    }
  }
  return photos;
}

/** The board the paintings puzzle lays its pieces on. */
const BOARD = { width: 702, height: 515 };
/** Pieces leave a pixel or two of board between them at the picture's edges. */
const EDGE_TRIM = 3;

/**
 * Puts one painting of the puzzle back together: `board` is its board number
 * (resource/board/board<N>_0.qml). Returns the painting as PNG and the board's caption
 * ("Vincent Van Gogh, Village Street in Auvers - 1890").
 */
export async function gcomprisPainting(board: number): Promise<{ png: Buffer; caption: string; origin: string }> {
  const files = await bundle('paintings');
  const root = `${ACTIVITIES}/paintings/resource`;
  const qml = files.get(`${root}/board/board${board}_0.qml`)?.toString('utf8');
  if (!qml) throw new Error(`paintings.rcc has no board ${board}`);
  const caption = /qsTr\("([^"]+)"\)/.exec(qml)?.[1] ?? `board ${board}`;
  const pieces = [...qml.matchAll(/"pixmapfile"\s*:\s*"(image\/[^"]+)",\s*"x"\s*:\s*"([\d.]+)",\s*"y"\s*:\s*"([\d.]+)"/g)];
  if (pieces.length === 0) throw new Error(`board ${board} of paintings.rcc places no pieces`);
  const placed = await Promise.all(
    pieces.map(async ([, file, x, y]) => {
      const input = files.get(`${root}/${file}`);
      if (!input) throw new Error(`paintings.rcc lacks ${file}`);
      const { width = 0, height = 0 } = await sharp(input).metadata();
      // The board places each piece by its centre, in fractions of the board.
      return { input, left: Math.round(Number(x) * BOARD.width - width / 2), top: Math.round(Number(y) * BOARD.height - height / 2), width, height };
    }),
  );
  const left = Math.min(...placed.map((p) => p.left));
  const top = Math.min(...placed.map((p) => p.top));
  const width = Math.max(...placed.map((p) => p.left + p.width)) - left;
  const height = Math.max(...placed.map((p) => p.top + p.height)) - top;
  const whole = await sharp({ create: { width, height, channels: 3, background: '#000' } })
    .composite(placed.map((p) => ({ input: p.input, left: p.left - left, top: p.top - top })))
    .png()
    .toBuffer();
  const png = await sharp(whole)
    .extract({ left: EDGE_TRIM, top: EDGE_TRIM, width: width - 2 * EDGE_TRIM, height: height - 2 * EDGE_TRIM })
    .png()
    .toBuffer();
  return { png, caption, origin: `${GCOMPRIS_RCC_DIR}/paintings.rcc:${root}/board/board${board}_0.qml` };
}
