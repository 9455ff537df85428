/**
 * The pure-blue patches with red fringes the first starter models painted in dark areas (the
 * output sigmoid saturating: every channel at 0 or 1, not black or white). Photos from the
 * shipped training set, darkened to a third, bring them out at 768 px; the versions trained on
 * the ImageNet loss paint none, and elephants version 1 (the random-feature loss) shows the
 * check would catch them.
 */
import { describe, expect, it } from 'vitest';
import { ModelRegistry } from '@nst/runtime';
import { darkPhotos, saturatedFraction, type RgbImage } from '@nst/trainer';
import { DEFAULT_STARTER_DIR } from '@nst/trainer/config';
import { StyleModel } from '@nst/inference';

async function worstSaturation(registry: ModelRegistry, style: string, version: number, photos: RgbImage[]): Promise<number> {
  const model = await StyleModel.load(await registry.readModel(style, version), { threads: 1 });
  try {
    let worst = 0;
    for (const photo of photos) worst = Math.max(worst, saturatedFraction(await model.run(photo)));
    return worst;
  } finally {
    await model.dispose();
  }
}

describe('starter styles in dark areas', () => {
  it('the ImageNet-loss versions paint dark photos without pure-colour patches, where elephants version 1 painted them', async () => {
    const registry = await ModelRegistry.open(DEFAULT_STARTER_DIR, { readOnly: true });
    const photos = await darkPhotos();
    expect(await worstSaturation(registry, 'elephants', 1, photos)).toBeGreaterThan(0.001);
    for (const style of await registry.listStyles()) {
      const latest = await registry.latestVersion(style.id);
      if (latest.metadata.hyperparameters['lossNetwork'] !== 'inception') continue;
      expect(await worstSaturation(registry, style.id, latest.version, photos), `${style.id} version ${latest.version}`).toBeLessThan(0.0002);
    }
  });
});
