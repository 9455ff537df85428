/**
 * What a served model's graph promises, without loading the network or the exporter: StyleService
 * feeds `image` ([N,3,H,W] floats 0..1, any H and W) and reads `stylized` (the same shape).
 */
export const ONNX_INPUT_NAME = 'image';
export const ONNX_OUTPUT_NAME = 'stylized';
