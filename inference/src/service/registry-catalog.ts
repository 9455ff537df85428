/**
 * The StyleCatalog over the platform's model registry (@nst/runtime). Registry versions are
 * numbers; on the wire they are their decimal strings ("3").
 */
import { precisionsOf, RegistryNotFoundError, RegistryValidationError, type ModelRegistry } from '@nst/runtime';
import type { StyleCatalog } from './catalog';

export function registryCatalog(registry: ModelRegistry): StyleCatalog {
  return {
    listStyles: async () =>
      (await registry.listStyles()).map((style) => ({
        id: style.id,
        displayName: style.displayName,
        description: style.description,
        versions: style.versions.map(String),
      })),
    listVersions: async (style) => {
      try {
        return (await registry.listVersions(style)).map((record) => String(record.version));
      } catch (error) {
        // An id the registry cannot even hold (bad characters) is as unknown as a missing one.
        if (error instanceof RegistryNotFoundError || error instanceof RegistryValidationError) return undefined;
        throw error;
      }
    },
    readModel: (style, version, precision) => registry.readModel(style, version, precision),
    precisions: async (style, version) => {
      const { metadata } = await registry.getVersion(style, version);
      return { available: precisionsOf(metadata), serve: metadata.servePrecision ?? 'fp32' };
    },
  };
}
