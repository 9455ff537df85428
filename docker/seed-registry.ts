/**
 * Seeds the model registry (NST_REGISTRY_DIR) with the starter styles (NST_STARTER_DIR) it
 * lacks, as `npm start` does on one machine. Run once before the services start: by the
 * trainer's init container in Kubernetes (the trainer is the registry's only writer there) and
 * by the `seed` service in compose. Idempotent: styles already present are left alone.
 */
import { ModelRegistry } from '@nst/runtime/registry';
import { loadTrainerConfig } from '@nst/trainer/config';

const config = loadTrainerConfig();
const registry = await ModelRegistry.open(config.registryDir, { seedFrom: config.starterDir });
const styles = await registry.listStyles();
process.stdout.write(`registry ${config.registryDir}: ${styles.map((s) => `${s.id} (v${s.versions.at(-1) ?? '-'})`).join(', ') || 'no styles'}\n`);
