// Kept apart from style-loss.ts so TrainerService's main process can check recorded loss
// weights without loading TF.js.
export const LOSS_TERMS = ['style', 'content', 'colour', 'edges', 'pixel', 'tv', 'patches', 'mrf', 'tone', 'cells', 'lead'] as const;
export type LossTerm = (typeof LOSS_TERMS)[number];
export type LossWeights = Record<LossTerm, number>;
