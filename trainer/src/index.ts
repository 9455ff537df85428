export * from './starter/catalogue';
export * from './starter/style-images';
export * from './eval/colour-transfer';
export * from './eval/scores';
export * from './loss/features';
export * from './model/network';
