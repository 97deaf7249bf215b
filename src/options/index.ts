/**
 * Option schemas of every model: validation (`resolveOptions`), CLI flags (`kebab`,
 * `parseOptionText`, `formatOptionsHelp`) and the README table (`optionsMarkdown`).
 * The error classes are exported by `../errors.js`.
 */
export { describeOption, isCliOption, kebab, nearestName, resolveOptions } from './schema.js';
export { formatOptionsHelp, optionsMarkdown, parseOptionText } from './text.js';
export type { OptionKind, OptionSpec, Schema } from './schema.js';
export { COMMON_OPTIONS, componentSchema, FUSION_COMPONENTS, MODEL_SCHEMAS, modelSchema, RENAMED_OPTIONS } from './models.js';
export type { FusionComponent } from './models.js';
