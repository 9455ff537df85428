/**
 * TrainerService's view of the shared model registry (@nst/runtime ModelRegistry): versions
 * are numbers there and decimal strings on the wire; a new style is created in the registry
 * together with its first version, so a failed or cancelled first training leaves no empty
 * style behind.
 */
import { RegistryConflictError, RegistryNotFoundError, type ModelRegistry, type VersionRecord } from '@nst/runtime';
import type { TrainingLoss } from './hyperparameters';
import type { NewVersion, TrainerRegistry, VersionInfo } from './ports';

/** The loss a version's metadata records (registry metadata keeps hyperparameters untyped). */
function trainingLoss(hyperparameters: Record<string, unknown>): TrainingLoss | undefined {
  const { lossNetwork, styleScale } = hyperparameters;
  if (lossNetwork !== 'inception' && lossNetwork !== 'random') return undefined;
  return { lossNetwork, styleScale: typeof styleScale === 'number' ? styleScale : 1 };
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

export class RegistryAdapter implements TrainerRegistry {
  constructor(private readonly registry: ModelRegistry) {}

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
      },
    });
    return String(record.version);
  }
}
