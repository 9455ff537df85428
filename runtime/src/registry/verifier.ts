/**
 * Checking versions against the sha256 in their metadata, before any is listed or read. A
 * verdict is remembered while the files' inode, size and mtime stay the same (versions are
 * immutable, so a changed stamp means damage), and the bytes served are hashed again as they
 * are read. Each damage found is reported once.
 */
import { readFile, stat } from 'node:fs/promises';
import { errorCode, sha256, sha256File } from '../durable-fs';
import { RegistryCorruptError, RegistryNotFoundError } from './errors';
import { exists, MODEL_FILE, WEIGHTS_FILE, type RegistryLayout } from './layout';
import { DERIVED_PRECISIONS, modelFileOf, type DerivedPrecision } from './precision';
import type { CorruptVersion, VersionRecord } from './records';
import { VersionMetadataSchema, describeIssues } from './schema';

export type Checked = { ok: true; record: VersionRecord } | { ok: false; corrupt: CorruptVersion };

/**
 * File identity and size: a version's files are immutable, so a changed stamp means damage.
 * `optional` files (derived models) stamp as absent when missing; the required ones throw.
 */
async function stampOf(paths: readonly string[], optional: readonly string[] = []): Promise<string> {
  const stats = await Promise.all(paths.map((path) => stat(path)));
  const optionalStats = await Promise.all(
    optional.map((path) =>
      stat(path).catch((error: unknown) => {
        if (errorCode(error) === 'ENOENT') return undefined;
        throw error;
      }),
    ),
  );
  return [...stats, ...optionalStats].map((s) => (s ? `${s.ino}:${s.size}:${s.mtimeMs}` : '-')).join('|');
}

export class VersionVerifier {
  private readonly verified = new Map<string, { stamp: string; check: Promise<Checked> }>();
  private readonly reportedCorrupt = new Set<string>();

  /** `onCorrupt` hears of each damaged version once (a missing one is not damage). */
  constructor(
    private readonly layout: RegistryLayout,
    private readonly onCorrupt: (corrupt: CorruptVersion) => void,
  ) {}

  /** Verifies a version, reusing an earlier verdict while its files are unchanged. */
  async check(style: string, version: number): Promise<Checked> {
    const files = this.layout.versionFiles(style, version);
    let stamp: string;
    try {
      stamp = await stampOf(files, this.layout.derivedFiles(style, version));
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') throw error;
      const dirExists = await exists(this.layout.versionDir(style, version));
      return this.reportCorrupt({ style, version, reason: dirExists ? 'missing files' : 'missing' });
    }
    const key = `${style}/${version}`;
    const cached = this.verified.get(key);
    if (cached && cached.stamp === stamp) return cached.check;
    const check = this.verify(style, version, files).then(
      (checked) => (checked.ok ? checked : this.reportCorrupt(checked.corrupt)),
      (error: unknown) => {
        // An I/O failure is not a verdict: the next call tries again.
        this.verified.delete(key);
        throw error;
      },
    );
    this.verified.set(key, { stamp, check });
    return check;
  }

  /** Remembers a version this process just wrote (and hashed) as intact. */
  async remember(record: VersionRecord): Promise<void> {
    this.verified.set(`${record.style}/${record.version}`, {
      stamp: await stampOf([record.paths.metadata, record.paths.model, record.paths.weights], this.layout.derivedFiles(record.style, record.version)),
      check: Promise.resolve({ ok: true, record }),
    });
  }

  /**
   * A file of an intact version (its model, weights, or a derived model), hashed as it is read:
   * the bytes could change after the check. RegistryNotFoundError for a derived model it lacks.
   */
  async read(record: VersionRecord, file: 'model' | 'weights' | DerivedPrecision): Promise<Uint8Array> {
    const derived = file === 'model' || file === 'weights' ? undefined : file;
    const path = derived ? record.paths.derived[derived] : record.paths[file as 'model' | 'weights'];
    const expected = derived ? record.metadata.derivedModels?.[derived]?.sha256 : record.metadata.sha256[file as 'model' | 'weights'];
    if (!path || !expected) {
      throw new RegistryNotFoundError(`style ${record.style} version ${record.version} has no ${file} model`, record.style, record.version);
    }
    const bytes = await readFile(path);
    if (sha256(bytes) !== expected) {
      this.verified.delete(`${record.style}/${record.version}`);
      const name = derived ? modelFileOf(derived) : file === 'model' ? MODEL_FILE : WEIGHTS_FILE;
      const corrupt = { style: record.style, version: record.version, reason: `${name} does not match its sha256` };
      this.reportCorrupt(corrupt);
      throw new RegistryCorruptError(`style ${record.style} version ${record.version} is corrupt: ${corrupt.reason}`, record.style, record.version);
    }
    return bytes;
  }

  private async verify(style: string, version: number, [metadataPath, modelPath, weightsPath]: readonly string[]): Promise<Checked> {
    const corrupt = (reason: string): Checked => ({ ok: false, corrupt: { style, version, reason } });
    let json: unknown;
    try {
      json = JSON.parse(await readFile(metadataPath as string, 'utf8'));
    } catch {
      return corrupt('metadata.json is not JSON');
    }
    const parsed = VersionMetadataSchema.safeParse(json);
    if (!parsed.success) return corrupt(`metadata.json: ${describeIssues(parsed.error)}`);
    const metadata = parsed.data;
    if (metadata.style !== style || metadata.version !== version) {
      return corrupt(`metadata.json names ${metadata.style} version ${metadata.version}`);
    }
    if ((await sha256File(modelPath as string)) !== metadata.sha256.model) return corrupt('model.onnx does not match its sha256');
    if ((await sha256File(weightsPath as string)) !== metadata.sha256.weights) return corrupt('weights.bin does not match its sha256');
    const record = this.layout.recordOf(style, metadata);
    for (const precision of DERIVED_PRECISIONS) {
      const path = record.paths.derived[precision];
      const expected = metadata.derivedModels?.[precision]?.sha256;
      if (!path || !expected) continue;
      const file = modelFileOf(precision);
      const actual = await sha256File(path).catch((error: unknown) => {
        if (errorCode(error) === 'ENOENT') return 'missing';
        throw error;
      });
      if (actual === 'missing') return corrupt(`${file} is missing`);
      if (actual !== expected) return corrupt(`${file} does not match its sha256`);
    }
    return { ok: true, record };
  }

  private reportCorrupt(corrupt: CorruptVersion): Checked {
    const key = `${corrupt.style}/${corrupt.version}:${corrupt.reason}`;
    if (corrupt.reason !== 'missing' && !this.reportedCorrupt.has(key)) {
      this.reportedCorrupt.add(key);
      this.onCorrupt(corrupt);
    }
    return { ok: false, corrupt };
  }
}
