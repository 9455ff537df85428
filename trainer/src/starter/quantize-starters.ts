/**
 * Gives the shipped starter versions that predate INT8 export their INT8 model: derives it from
 * each version's model.onnx exactly as export does for a new version (export/int8.ts:
 * calibrated on the shipped training photos, judged against the FP32 output on other training
 * photos), writes model.int8.onnx beside it and records it in metadata.json (sha256, size,
 * calibration, measured cost, and servePrecision: int8 only when the cost passed).
 *
 *   node --import tsx trainer/src/starter/quantize-starters.ts            # every version without one
 *   node --import tsx trainer/src/starter/quantize-starters.ts mosaic --force
 *
 * Why a script over the shipped folder rather than deriving at seed time: the derivation
 * needs the training photos, ONNX Runtime and the judge network and takes about a minute per
 * version on two cores, which every first start of every StyleService would pay; done once
 * here, the result ships with its hash like the rest of the version and is seeded as is.
 * What a version paints at FP32 (model.onnx, weights.bin, their hashes) does not change: the
 * INT8 model is a derived file added beside them. Data folders seeded before keep their copy
 * without it and serve FP32 (the registry's fallback), until their versions are re-seeded.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import {
  METADATA_FILE,
  MODEL_FILE,
  ModelRegistry,
  VERSION_PATTERN,
  VERSIONS_DIR,
  VersionMetadataSchema,
  modelFileOf,
  replaceFileDurable,
  sha256,
} from '@nst/runtime';
import { createJudge } from '../eval/judge';
import { deriveInt8 } from '../export/int8';
import { initBackend } from '../kernels/backend';
import { STARTER_DIR } from './build';
import { SHIPPED_PHOTOS_DIR } from './training-photos';

export interface QuantizeStartersOptions {
  starterDir?: string;
  photosDir?: string;
  /** Only these styles; default all. */
  styles?: string[];
  /** Derive again even where a version has an INT8 model. */
  force?: boolean;
  log?: (line: string) => void;
}

/** Adds INT8 models to the starter versions lacking one; returns the versions changed as `style/n`. */
export async function quantizeStarters(options: QuantizeStartersOptions = {}): Promise<string[]> {
  const starterDir = options.starterDir ?? STARTER_DIR;
  const log = options.log ?? (() => {});
  const judge = createJudge();
  const changed: string[] = [];
  try {
    const styles = options.styles ?? (await readdir(starterDir, { withFileTypes: true })).filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name);
    for (const style of styles.sort()) {
      const versionsDir = join(starterDir, style, VERSIONS_DIR);
      const versions = (await readdir(versionsDir)).filter((n) => VERSION_PATTERN.test(n)).sort((a, b) => Number(a) - Number(b));
      for (const version of versions) {
        const dir = join(versionsDir, version);
        const raw = JSON.parse(await readFile(join(dir, METADATA_FILE), 'utf8')) as Record<string, unknown>;
        const metadata = VersionMetadataSchema.parse(raw);
        if (metadata.derivedModels?.int8 && !options.force) continue;
        const fp32 = new Uint8Array(await readFile(join(dir, MODEL_FILE)));
        if (sha256(fp32) !== metadata.sha256.model) throw new Error(`${dir}/${MODEL_FILE} does not match its sha256; not deriving from it`);
        const started = performance.now();
        const { model, info } = await deriveInt8(fp32, { photosDir: options.photosDir ?? SHIPPED_PHOTOS_DIR, judge: judge.extract });
        // The model first, then the metadata naming it: a crash between leaves a stray file the
        // registry ignores, never metadata naming a file that is not there.
        await replaceFileDurable(join(dir, modelFileOf('int8')), model);
        // The file as it was (its key order too), plus the two new entries; checked before it is written.
        const updated = {
          ...raw,
          derivedModels: { ...metadata.derivedModels, int8: { ...info, sha256: sha256(model), sizeBytes: model.length } },
          servePrecision: info.passed ? ('int8' as const) : ('fp32' as const),
        };
        VersionMetadataSchema.parse(updated);
        await replaceFileDurable(join(dir, METADATA_FILE), JSON.stringify(updated, null, 2) + '\n');
        changed.push(`${style}/${version}`);
        log(
          `${style} v${version}: int8 ${model.length} bytes, ${info.quality['passed']} of ${info.quality['checkPhotos']} photos within; worst ` +
            `MAD ${info.quality['worstMeanAbsDiff']} (${info.quality['worstMeanAbsDiffVsJpeg']}x JPEG), SSIM ${info.quality['worstSsim']}, ` +
            `judge ${info.quality['worstJudgeDistance']} (${info.quality['worstJudgeDistanceVsJpeg']}x JPEG) -> ` +
            `${info.passed ? 'passes, serves int8' : 'fails the threshold, serves fp32'} (${Math.round(performance.now() - started)} ms)`,
        );
      }
    }
  } finally {
    judge.dispose();
  }
  // Every version must still read back intact, with the new file checked against its hash.
  const registry = await ModelRegistry.open(starterDir, { readOnly: true });
  for (const key of changed) {
    const [style, version] = key.split('/') as [string, string];
    await registry.readModel(style, version, 'int8');
  }
  return changed;
}

async function main(): Promise<void> {
  const program = new Command()
    .name('nst-quantize-starters')
    .description('Add the INT8 model to shipped starter versions that lack one (trainer/starter-styles)')
    .argument('[styles...]', 'style ids; default every starter style')
    .option('--force', 'derive again where a version already has an INT8 model')
    .option('--starter-dir <dir>', 'registry folder of the starter styles', STARTER_DIR)
    .parse();
  const opts = program.opts<{ force?: boolean; starterDir: string }>();
  await initBackend();
  const changed = await quantizeStarters({
    starterDir: resolve(opts.starterDir),
    ...(program.args.length > 0 ? { styles: program.args } : {}),
    ...(opts.force ? { force: true } : {}),
    log: (line) => console.log(line),
  });
  console.log(changed.length > 0 ? `added INT8 models to ${changed.join(', ')}` : 'every starter version already has its INT8 model');
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
}
