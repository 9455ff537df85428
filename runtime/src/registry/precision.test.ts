import { createHash } from 'node:crypto';
import { chmod, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ModelPrecision } from '@nst/proto';
import { RegistryCorruptError, RegistryNotFoundError, RegistryValidationError } from './errors';
import { ModelRegistry, type NewVersion } from './model-registry';
import { precisionFromProto, precisionsOf, precisionToProto, type NewDerivedModel } from './precision';
import { newStyle, newVersion } from './test-helpers';

const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const bytes = (...values: number[]) => new Uint8Array(values);

const int8Of = (model: Uint8Array): NewDerivedModel => ({
  model,
  quantizerVersion: 'test-1',
  calibration: { method: 'percentile', photos: 16 },
  quality: { worstMeanAbsDiff: 1.5, worstSsim: 0.99 },
  passed: true,
});

const withInt8 = (model: Uint8Array, int8: Uint8Array, serve: 'fp32' | 'int8' = 'int8'): NewVersion => ({
  ...newVersion(model, bytes(9, 9), { servePrecision: serve }),
  derivedModels: { int8: int8Of(int8) },
});

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nst-registry-precision-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('ModelRegistry with derived models', () => {
  it('stores the int8 model beside the fp32 one, read-only, with its sha256, size and measurements in the metadata', async () => {
    const registry = await ModelRegistry.open(dir);
    await registry.createStyle(newStyle('mosaic'));
    const record = await registry.registerVersion('mosaic', withInt8(bytes(1, 2, 3), bytes(4, 5)));
    expect(record.metadata.servePrecision).toBe('int8');
    expect(record.metadata.derivedModels?.int8).toEqual({
      quantizerVersion: 'test-1',
      calibration: { method: 'percentile', photos: 16 },
      quality: { worstMeanAbsDiff: 1.5, worstSsim: 0.99 },
      passed: true,
      sha256: sha(bytes(4, 5)),
      sizeBytes: 2,
    });
    expect(record.paths.derived.int8).toBe(join(record.paths.dir, 'model.int8.onnx'));
    expect((await stat(record.paths.derived.int8 as string)).mode & 0o777).toBe(0o444);
    expect(precisionsOf(record.metadata)).toEqual(['fp32', 'int8']);

    const reopened = await ModelRegistry.open(dir);
    expect(await reopened.readModel('mosaic', 1)).toEqual(Buffer.from([1, 2, 3]));
    expect(await reopened.readModel('mosaic', 1, 'fp32')).toEqual(Buffer.from([1, 2, 3]));
    expect(await reopened.readModel('mosaic', 1, 'int8')).toEqual(Buffer.from([4, 5]));
    expect((await reopened.getVersion('mosaic', 1)).metadata).toEqual(record.metadata);
  });

  it('answers NOT_FOUND for the int8 model of a version that has none, and keeps serving its fp32 model', async () => {
    const registry = await ModelRegistry.open(dir);
    await registry.createStyle(newStyle('hatch'));
    const record = await registry.registerVersion('hatch', newVersion(bytes(1), bytes(2)));
    expect(record.metadata.derivedModels).toBeUndefined();
    expect(precisionsOf(record.metadata)).toEqual(['fp32']);
    await expect(registry.readModel('hatch', 1, 'int8')).rejects.toBeInstanceOf(RegistryNotFoundError);
    expect(await registry.readModel('hatch', 1)).toEqual(Buffer.from([1]));
  });

  it('refuses a version that would serve a precision it has no model for, and empty or unknown derived models', async () => {
    const registry = await ModelRegistry.open(dir);
    await registry.createStyle(newStyle('swirl'));
    await expect(registry.registerVersion('swirl', newVersion(bytes(1), bytes(2), { servePrecision: 'int8' }))).rejects.toThrow(
      /servePrecision is int8 but the version has no int8 model/,
    );
    await expect(registry.registerVersion('swirl', withInt8(bytes(1), new Uint8Array(0)))).rejects.toBeInstanceOf(RegistryValidationError);
    await expect(
      registry.registerVersion('swirl', { ...newVersion(bytes(1), bytes(2)), derivedModels: { fp16: int8Of(bytes(3)) } as never }),
    ).rejects.toThrow(/unknown derived model precision fp16/);
    expect(await registry.listVersions('swirl')).toEqual([]);
  });

  it('reports a version whose int8 model was damaged or removed as corrupt', async () => {
    const registry = await ModelRegistry.open(dir);
    await registry.createStyle(newStyle('wave'));
    const damaged = await registry.registerVersion('wave', withInt8(bytes(1), bytes(2, 2)));
    const removed = await registry.registerVersion('wave', withInt8(bytes(3), bytes(4, 4)));
    const path = damaged.paths.derived.int8 as string;
    await chmod(path, 0o644);
    await writeFile(path, bytes(2, 3));
    await rm(removed.paths.derived.int8 as string);
    const fresh = await ModelRegistry.open(dir);
    const { intact, corrupt } = await fresh.checkVersions('wave');
    expect(intact).toEqual([]);
    expect(corrupt).toEqual([
      { style: 'wave', version: 1, reason: 'model.int8.onnx does not match its sha256' },
      { style: 'wave', version: 2, reason: 'model.int8.onnx is missing' },
    ]);
    await expect(fresh.readModel('wave', 1, 'fp32')).rejects.toBeInstanceOf(RegistryCorruptError);
  });

  it('seeds derived models with their style, and with a starter version registered into a data folder that has the style', async () => {
    const seedDir = join(dir, 'seed');
    const seed = await ModelRegistry.open(seedDir);
    await seed.createStyle(newStyle('elephants'));
    await seed.registerVersion('elephants', withInt8(bytes(1, 1), bytes(7, 7)));
    const root = join(dir, 'data');
    const copied = await ModelRegistry.open(root, { seedFrom: seedDir });
    expect(await copied.readModel('elephants', 1, 'int8')).toEqual(Buffer.from([7, 7]));
    expect((await stat(join(root, 'elephants', 'versions', '1', 'model.int8.onnx'))).mode & 0o777).toBe(0o444);

    await seed.registerVersion('elephants', withInt8(bytes(5), bytes(8), 'fp32'));
    const again = await ModelRegistry.open(root, { seedFrom: seedDir });
    const v2 = await again.getVersion('elephants', 2);
    expect(v2.metadata).toMatchObject({ servePrecision: 'fp32', derivedModels: { int8: { sha256: sha(bytes(8)), sizeBytes: 1, passed: true } } });
    expect(await again.readModel('elephants', 2, 'int8')).toEqual(Buffer.from([8]));
  });
});

describe('precision on the wire', () => {
  it('maps each precision to its enum and back, UNSPECIFIED as fp32 and unknown values to nothing', () => {
    expect(precisionToProto('fp32')).toBe(ModelPrecision.MODEL_PRECISION_FP32);
    expect(precisionToProto('int8')).toBe(ModelPrecision.MODEL_PRECISION_INT8);
    expect(precisionFromProto(ModelPrecision.MODEL_PRECISION_INT8)).toBe('int8');
    expect(precisionFromProto(ModelPrecision.MODEL_PRECISION_UNSPECIFIED)).toBe('fp32');
    expect(precisionFromProto(42 as ModelPrecision)).toBeUndefined();
  });
});
