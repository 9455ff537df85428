/**
 * The quality ceiling's results, kept per style in one JSON file beside the gallery
 * (docs/gallery/ceilings.json): scripts/ceiling.ts takes minutes per style, so it records what
 * it measured and scripts/gallery.ts reports the ratios for the versions they were measured on,
 * instead of rerunning the optimisation on every gallery render.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { z } from 'zod';

const positive = z.number().finite().nonnegative();

export const CeilingRecordSchema = z.object({
  /** The style version whose network was compared; a newer version makes the record stale. */
  version: z.number().int().positive(),
  /** Gallery photo numbers (1-based), the longest side and the Adam steps of the optimisation. */
  photos: z.array(z.number().int().positive()).min(1),
  size: z.number().int().positive(),
  steps: z.number().int().positive(),
  lossNetwork: z.string(),
  /** Means over the photos: the network's output vs the optimised images vs a colour transfer. */
  loss: positive,
  ceilingLoss: positive,
  judge: positive,
  ceilingJudge: positive,
  reinhardJudge: positive,
  ssim: z.number().finite(),
  ceilingSsim: z.number().finite(),
  measuredAt: z.string(),
});
export type CeilingRecord = z.infer<typeof CeilingRecordSchema>;

const CeilingRecordsSchema = z.record(z.string(), CeilingRecordSchema);
export type CeilingRecords = Record<string, CeilingRecord>;

/** Reads the records; a missing file is no records, a malformed one an error naming the file. */
export async function readCeilingRecords(file: string): Promise<CeilingRecords> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw err;
  }
  const parsed = CeilingRecordsSchema.safeParse(JSON.parse(text));
  if (!parsed.success) throw new Error(`${file} is not a ceiling record file: ${parsed.error.message}`);
  return parsed.data;
}

/** Replaces one style's record, keeping the others; written whole then renamed, so a crash leaves the old file. */
export async function recordCeiling(file: string, style: string, record: CeilingRecord): Promise<void> {
  const records = await readCeilingRecords(file);
  records[style] = CeilingRecordSchema.parse(record);
  const sorted = Object.fromEntries(Object.entries(records).sort(([a], [b]) => a.localeCompare(b)));
  await writeFile(`${file}.tmp`, `${JSON.stringify(sorted, null, 2)}\n`);
  await rename(`${file}.tmp`, file);
}
