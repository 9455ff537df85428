/**
 * TrainerService's view of the shared model registry (@nst/runtime ModelRegistry): versions
 * are numbers there and decimal strings on the wire; a new style is created in the registry
 * together with its first version, so a failed or cancelled first training leaves no empty
 * style behind.
 */
import { stat } from 'node:fs/promises';
import {
  DERIVED_PRECISIONS,
  RegistryConflictError,
  RegistryNotFoundError,
  type ModelRegistry,
  type RegistryWatch,
  type StyleRecord,
  type Precision,
  type VersionRecord,
} from '@nst/runtime';
import type { TrainingLoss } from './hyperparameters';
import { INCEPTION_DEEP_LAYERS, type InceptionDeepLayer } from '../loss/style-loss';
import { LOSS_TERMS, type LossTerm } from '../loss/terms';
import type { CatalogueChange, CatalogueStyleInfo, ModelCatalogue, ModelVersionInfo, NewVersion, TrainerRegistry, VersionInfo } from './ports';

/** The loss a version's metadata records (registry metadata keeps hyperparameters untyped). */
export function trainingLoss(hyperparameters: Record<string, unknown>): TrainingLoss | undefined {
  const { lossNetwork, styleScale, lossWeights, statistic, slicedLayers, styleLayerWeights, patchPools, stylePooling, deepLayers, flatContent, lossMargin, seedWindows } = hyperparameters;
  const knownDeepLayers = (v: unknown): v is InceptionDeepLayer[] => Array.isArray(v) && v.length > 0 && v.every((l) => (INCEPTION_DEEP_LAYERS as readonly unknown[]).includes(l));
  const numbers = (v: unknown, integer: boolean): v is number[] => Array.isArray(v) && v.length > 0 && v.every((x) => (integer ? Number.isInteger(x) : typeof x === 'number' && Number.isFinite(x) && x >= 0));
  if (lossNetwork !== 'inception' && lossNetwork !== 'random') return undefined;
  const weights = lossWeights && typeof lossWeights === 'object' ? Object.entries(lossWeights).filter((e): e is [LossTerm, number] => LOSS_TERMS.includes(e[0] as LossTerm) && typeof e[1] === 'number') : [];
  return {
    lossNetwork,
    styleScale: typeof styleScale === 'number' ? styleScale : 1,
    ...(weights.length ? { lossWeights: Object.fromEntries(weights) } : {}),
    ...(statistic === 'sliced' || statistic === 'gram' ? { statistic } : {}),
    ...(statistic === 'sliced' && numbers(slicedLayers, true) ? { slicedLayers } : {}),
    ...(numbers(styleLayerWeights, false) ? { styleLayerWeights } : {}),
    ...(numbers(patchPools, true) && patchPools.every((pool) => pool >= 1) ? { patchPools } : {}),
    ...(stylePooling === 'batch' ? { stylePooling } : {}),
    ...(lossNetwork === 'inception' && knownDeepLayers(deepLayers) ? { deepLayers } : {}),
    ...(typeof flatContent === 'number' && flatContent >= 0 && flatContent < 1 ? { flatContent } : {}),
    ...(typeof lossMargin === 'number' && Number.isInteger(lossMargin) && lossMargin > 0 ? { lossMargin } : {}),
    ...(seedWindows === 'image' ? { seedWindows } : {}),
  };
}

function toInfo(record: VersionRecord): VersionInfo {
  const m = record.metadata;
  const training = trainingLoss(m.hyperparameters);
  return {
    style: record.style,
    version: String(record.version),
    ...(m.parentVersion !== null ? { parentVersion: String(m.parentVersion) } : {}),
    origin: m.origin,
    ...(m.jobId ? { jobId: m.jobId } : {}),
    ...(m.reason ? { reason: m.reason } : {}),
    losses: m.losses,
    metrics: m.metrics ?? {},
    createdAt: m.createdAt,
    ...(training ? { training } : {}),
  };
}

async function modelInfo(record: VersionRecord): Promise<ModelVersionInfo> {
  const m = record.metadata;
  return {
    version: String(record.version),
    modelSha256: m.sha256.model,
    modelSizeBytes: (await stat(record.paths.model)).size,
    exporterVersion: m.exporterVersion,
    ...(m.parentVersion !== null ? { parentVersion: String(m.parentVersion) } : {}),
    createdAt: m.createdAt,
    derivedModels: DERIVED_PRECISIONS.flatMap((precision) => {
      const derived = m.derivedModels?.[precision];
      return derived ? [{ precision, sha256: derived.sha256, sizeBytes: derived.sizeBytes }] : [];
    }),
    servePrecision: m.servePrecision ?? 'fp32',
  };
}

export class RegistryAdapter implements TrainerRegistry, ModelCatalogue {
  constructor(private readonly registry: ModelRegistry) {}

  async listCatalogue(): Promise<CatalogueStyleInfo[]> {
    const styles = await this.registry.listStyles();
    return Promise.all(styles.map((style) => this.catalogueStyle(style)));
  }

  onChange(listener: (change: CatalogueChange) => void): () => void {
    // The model's size needs a stat, so each change is reported after it, in registration
    // order (a style before its first version); a change that cannot be described is dropped
    // here and reaches clients with their next snapshot.
    let chain = Promise.resolve();
    const report = (change: Promise<CatalogueChange>): void => {
      chain = chain.then(() => change).then(listener).catch(() => undefined);
    };
    const offVersion = this.registry.onVersionRegistered((record) =>
      report(modelInfo(record).then((version) => ({ kind: 'version', style: record.style, version }))),
    );
    const offStyle = this.registry.onStyleCreated((record) => report(this.catalogueStyle(record).then((style) => ({ kind: 'style', style }))));
    return () => {
      offVersion();
      offStyle();
    };
  }

  async readModel(style: string, version: string, precision: Precision): Promise<{ info: ModelVersionInfo; bytes: Uint8Array }> {
    const record = await this.registry.getVersion(style, version);
    const bytes = await this.registry.readModel(style, version, precision);
    return { info: await modelInfo(record), bytes };
  }

  /**
   * Announces versions other processes write into the folder (a starter build, a second
   * registry instance) through onChange, by polling; this process's own registrations are
   * announced at once without it.
   */
  watchFolder(intervalMs: number, onError: (error: unknown) => void): RegistryWatch {
    return this.registry.watch({ intervalMs, onError });
  }

  private async catalogueStyle(style: StyleRecord): Promise<CatalogueStyleInfo> {
    const versions = await this.registry.listVersions(style.id);
    return {
      id: style.id,
      displayName: style.displayName,
      description: style.description,
      versions: await Promise.all(versions.map(modelInfo)),
    };
  }

  hasStyle(style: string): Promise<boolean> {
    return this.registry.hasStyle(style);
  }

  async listVersions(style: string): Promise<VersionInfo[] | undefined> {
    try {
      return (await this.registry.listVersions(style)).map(toInfo);
    } catch (error) {
      if (error instanceof RegistryNotFoundError) return undefined;
      throw error;
    }
  }

  readWeights(style: string, version: string): Promise<Uint8Array> {
    return this.registry.readWeights(style, version);
  }

  readStyleImage(style: string): Promise<Uint8Array> {
    return this.registry.readStyleImage(style);
  }

  async registerVersion(version: NewVersion): Promise<string> {
    if (version.newStyle) {
      try {
        await this.registry.createStyle({ id: version.style, ...version.newStyle });
      } catch (error) {
        // Created by an earlier attempt of this job that died before registering the version.
        if (!(error instanceof RegistryConflictError)) throw error;
      }
    }
    const record = await this.registry.registerVersion(version.style, {
      model: version.onnx,
      weights: version.weights,
      metadata: {
        parentVersion: version.parentVersion !== undefined ? Number(version.parentVersion) : null,
        exporterVersion: version.exporterVersion,
        network: version.network,
        hyperparameters: version.hyperparameters,
        dataHashes: version.dataHashes,
        losses: version.losses,
        origin: version.origin,
        jobId: version.jobId,
        reason: version.reason,
        ...(version.servePrecision ? { servePrecision: version.servePrecision } : {}),
      },
      ...(version.derivedModels ? { derivedModels: version.derivedModels } : {}),
    });
    return String(record.version);
  }
}
