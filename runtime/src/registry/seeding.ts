/**
 * Seeding a registry from another registry folder (the repository's starter styles): a style it
 * lacks is copied in whole, by one rename; for a style it has, the seed's versions it lacks (a
 * retrained starter) are registered as new versions, so they arrive like any other registration
 * and the release controller canaries them.
 */
import { chmod, cp, mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { errorCode, fsyncDir, fsyncTree } from '../durable-fs';
import { RegistryError } from './errors';
import { exists, isTaken, METADATA_FILE, MODEL_FILE, READ_ONLY, STYLE_FILE, STYLE_FOLDER, TEMP_PREFIX, VERSIONS_DIR, WEIGHTS_FILE, type RegistryLayout } from './layout';
import { DERIVED_PRECISIONS, modelFileOf, type DerivedPrecision, type NewDerivedModel } from './precision';
import type { NewVersion, VersionRecord } from './records';
import { VERSION_PATTERN, VersionMetadataSchema } from './schema';

/** What seeding needs of the registry it fills. */
export interface SeedTarget {
  layout: RegistryLayout;
  listVersions(style: string): Promise<VersionRecord[]>;
  registerVersion(style: string, input: NewVersion): Promise<VersionRecord>;
}

/** Copies each style of `seedDir` that `target` lacks, and registers the seed versions it lacks of the others. */
export async function seedRegistry(target: SeedTarget, seedDir: string): Promise<void> {
  let entries;
  try {
    entries = await readdir(seedDir, { withFileTypes: true });
  } catch (error) {
    if (errorCode(error) === 'ENOENT') throw new RegistryError(`seed folder ${seedDir} does not exist`);
    throw error;
  }
  const { root } = target.layout;
  for (const entry of entries) {
    if (!entry.isDirectory() || !STYLE_FOLDER.test(entry.name)) continue;
    const source = join(seedDir, entry.name);
    if (!(await exists(join(source, STYLE_FILE)))) continue;
    if (await exists(join(root, entry.name))) {
      await seedVersions(target, source, entry.name);
      continue;
    }
    const temp = target.layout.tempIn(root);
    try {
      await cp(source, temp, { recursive: true, filter: (path) => !path.slice(source.length).includes(`/${TEMP_PREFIX}`) });
      await mkdir(join(temp, VERSIONS_DIR), { recursive: true });
      for (const version of await readdir(join(temp, VERSIONS_DIR))) {
        for (const file of [MODEL_FILE, WEIGHTS_FILE, METADATA_FILE, ...DERIVED_PRECISIONS.map(modelFileOf)]) {
          await chmod(join(temp, VERSIONS_DIR, version, file), READ_ONLY).catch((error: unknown) => {
            if (errorCode(error) !== 'ENOENT') throw error;
          });
        }
      }
      await fsyncTree(temp);
      await rename(temp, join(root, entry.name));
      await fsyncDir(root);
    } catch (error) {
      await rm(temp, { recursive: true, force: true });
      // Another process seeding the same folder got there first: its copy is as good.
      if (isTaken(error)) continue;
      throw error;
    }
  }
}

/**
 * Registers each version of the seed's `style` whose model the target does not hold yet,
 * oldest first, under the target's next numbers (a data folder's own fine-tunes may have taken
 * the seed's). A marker per model, created exclusively, keeps processes seeding the same folder
 * from registering it twice.
 */
async function seedVersions(target: SeedTarget, seedStyleDir: string, style: string): Promise<void> {
  const seedVersionsDir = join(seedStyleDir, VERSIONS_DIR);
  let names: string[];
  try {
    names = (await readdir(seedVersionsDir)).filter((name) => VERSION_PATTERN.test(name));
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return;
    throw error;
  }
  const seeded = await Promise.all(
    names
      .sort((a, b) => Number(a) - Number(b))
      .map(async (name) => VersionMetadataSchema.parse(JSON.parse(await readFile(join(seedVersionsDir, name, METADATA_FILE), 'utf8')))),
  );
  const seedModelOf = new Map(seeded.map((v) => [v.version, v.sha256.model]));
  const held = new Map((await target.listVersions(style)).map((v) => [v.metadata.sha256.model, v.version]));
  for (const metadata of seeded) {
    if (held.has(metadata.sha256.model)) continue;
    try {
      await writeFile(join(target.layout.styleDir(style), `.seeded-${metadata.sha256.model}`), `${metadata.version}\n`, { flag: 'wx' });
    } catch (error) {
      if (errorCode(error) === 'EEXIST') continue; // another process registers (or registered) it
      throw error;
    }
    const { style: _style, version, createdAt: _createdAt, sha256: _sha256, parentVersion, derivedModels: seedDerived, ...rest } = metadata;
    // The seed's parent number means nothing here; the same model's number here does.
    const parentModel = parentVersion === null ? undefined : seedModelOf.get(parentVersion);
    const dir = join(seedVersionsDir, String(version));
    const derivedModels: Partial<Record<DerivedPrecision, NewDerivedModel>> = {};
    for (const precision of DERIVED_PRECISIONS) {
      const seedModel = seedDerived?.[precision];
      if (!seedModel) continue;
      const { sha256: _derivedSha, sizeBytes: _size, ...info } = seedModel;
      derivedModels[precision] = { ...info, model: new Uint8Array(await readFile(join(dir, modelFileOf(precision)))) };
    }
    const record = await target.registerVersion(style, {
      model: new Uint8Array(await readFile(join(dir, MODEL_FILE))),
      weights: new Uint8Array(await readFile(join(dir, WEIGHTS_FILE))),
      metadata: { ...rest, parentVersion: (parentModel === undefined ? undefined : held.get(parentModel)) ?? null },
      derivedModels,
    });
    held.set(metadata.sha256.model, record.version);
  }
}
