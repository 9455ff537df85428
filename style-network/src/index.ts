/**
 * @nst/style-network: the style network (StyleNet, its configurations and layer list) and its
 * ONNX export, apart from training, so StyleService's tests and benches can make real models
 * without the trainer. `@nst/style-network/contract` is the served graph's input and output
 * names alone (no TF.js).
 */
export * from './network';
export * from './seed.mjs';
export { seedCellOf } from './contract';
export * from './onnx';
export * from './backend';
export * from './quantize';
export * from './calibrate';
export * from './feeds';
