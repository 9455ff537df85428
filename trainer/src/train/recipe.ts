// Kept apart from train.ts so services can read the recipe without loading TF.js.
/**
 * Recipe for a new style from scratch, and for fine-tunes: a create-style job of it on the
 * sliced loss (SLICED_STYLE_LOSS) took 16 min 21 s end to end on 2 threads of a 2-core machine.
 * Learning rate 1e-3, not the 3e-3 every starter but swirl v3 trained at: on the covariance
 * loss (the default) it came out closer to the painting by the independent judge in four of
 * five pairs (MEASUREMENTS 19: Summertime 0.353 -> 0.249, swirl 0.382 -> 0.304, Renoir 0.266
 * -> 0.243, elephants seed 1 0.361 -> 0.269, but seed 2 0.236 -> 0.262; SSIM within 0.07
 * either way) and its seeds landed closer together (elephants 0.269 / 0.262 against 0.361 /
 * 0.236); level on the sliced loss (mosaic 0.351 -> 0.353).
 * Measured (STARTER_CONFIG, WASM, quiet 2-core machine): ms per step
 *   128px batch 4: 1.65 s (2.4 img/s, 0.9 GB peak)    160px batch 4: 2.5 s (1.4 GB)
 *   192px batch 2: 1.8 s (1.0 GB)                     256px batch 2: 3.2 s (1.8 GB)
 *   256px batch 4: 6.3 s (3.4 GB of the 4 GB WASM heap; Johnson does not fit at batch 4)
 * Small crops give the most images per second, and quality grows with steps: the swirl
 * style at 128px/batch 4/lr 3e-3 scored judge 0.281, SSIM 0.477 after 200 steps and
 * 0.207, 0.531 after 500 (see MEASUREMENTS in loss/style-loss.ts).
 */
export const RECOMMENDED_RECIPE = {
  fromScratch: { imageSize: 128, batchSize: 4, learningRate: 1e-3, steps: 600 },
  fineTune: { imageSize: 128, batchSize: 4, learningRate: 1e-3, steps: 300 },
} as const;

/**
 * The sliced style loss a job trains with when it asks for style_statistic sliced, the loss of
 * five starters' latest versions: sliced distributions of InceptionV3's mixed layers (loss
 * layers 3 and 4, mixed0 and mixed2) with covariances on the stem, at style weight 5. Not the
 * default for new styles (MEASUREMENTS 18): against covariance at weight 1, seed 1, it came out
 * closer to the painting by the independent judge for five starters (auvers 0.306 -> 0.229,
 * great-wave 0.360 -> 0.219, mosaic 0.389 -> 0.351, composition-viii 0.317 -> 0.297, hatch
 * 0.481 -> 0.319) but further for two (swirl 0.382 -> 0.401, elephants 0.361 -> 0.428); on
 * the one painting no starter uses (Cassatt's "Summertime") it scored 0.323 against
 * covariance's 0.343 at the same lr 3e-3 and 0.249 at 1e-3 (MEASUREMENTS 19), with white
 * blots where the photos are dark. Always at a lower SSIM and about 1.1-1.2x the time per step.
 */
export const SLICED_STYLE_LOSS = { statistic: 'sliced', slicedLayers: [3, 4], lossWeights: { style: 5 } } as const;
