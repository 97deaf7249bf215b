// Transfer learning on tfjs (wasm backend): per-domain MF, EMCDR, PTUPCDR, item-feature encoder.
export { initTensorflow } from './tf.js';
export type { Tf } from './tf.js';
export { Mf } from './mf.js';
export type { MfOptions } from './mf.js';
export { Emcdr } from './emcdr.js';
export type { EmcdrOptions, MappingKind } from './emcdr.js';
export { Ptupcdr } from './ptupcdr.js';
export type { PtupcdrOptions } from './ptupcdr.js';
export { CrossDomainModel } from './cross.js';
export type { CrossDomainOptions } from './cross.js';
export type { FactorOptions } from './common.js';
export type { ItemFeatures, EncoderOptions, EncoderReport } from './encoder.js';
