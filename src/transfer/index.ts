// Transfer learning across domains on tfjs (wasm backend): EMCDR, PTUPCDR.
export { Emcdr } from './emcdr.js';
export type { EmcdrOptions, MappingKind, CrossDomainOptions } from './emcdr.js';
export { Ptupcdr } from './ptupcdr.js';
export type { PtupcdrOptions } from './ptupcdr.js';
export type { Coupling } from './coupling.js';
export { TransferRecommender } from './cross.js';
