import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readCeilingRecords, recordCeiling, type CeilingRecord } from './ceiling-records';

const record = (version: number, judge: number): CeilingRecord => ({
  version,
  photos: [2, 4],
  size: 256,
  steps: 150,
  lossNetwork: 'inception',
  loss: 0.43,
  ceilingLoss: 0.165,
  judge,
  ceilingJudge: 0.369,
  reinhardJudge: 0.321,
  ssim: 0.529,
  ceilingSsim: 0.73,
  measuredAt: '2026-12-05T21:01:00Z',
});

describe('ceiling records', () => {
  it('a missing file holds no records', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ceilings-'));
    expect(await readCeilingRecords(join(dir, 'ceilings.json'))).toEqual({});
  });

  it("recording one style replaces that style's record and keeps the others", async () => {
    const file = join(await mkdtemp(join(tmpdir(), 'ceilings-')), 'ceilings.json');
    await recordCeiling(file, 'mosaic', record(2, 0.457));
    await recordCeiling(file, 'auvers', record(1, 0.371));
    await recordCeiling(file, 'mosaic', record(3, 0.401));
    const records = await readCeilingRecords(file);
    expect(Object.keys(records)).toEqual(['auvers', 'mosaic']);
    expect(records.mosaic).toMatchObject({ version: 3, judge: 0.401 });
    expect(records.auvers).toMatchObject({ version: 1, judge: 0.371 });
  });

  it('a malformed file is an error naming the file, not silently empty', async () => {
    const file = join(await mkdtemp(join(tmpdir(), 'ceilings-')), 'ceilings.json');
    await writeFile(file, JSON.stringify({ mosaic: { version: 'two' } }));
    await expect(readCeilingRecords(file)).rejects.toThrow(`${file} is not a ceiling record file`);
    // and recording over it refuses rather than dropping the other styles' records
    await expect(recordCeiling(file, 'auvers', record(1, 0.371))).rejects.toThrow('not a ceiling record file');
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({ mosaic: { version: 'two' } });
  });
});
