/**
 * Option schemas of every model: validation (`resolveOptions`), CLI flags (`kebab`,
 * `parseOptionText`, `formatOptionsHelp`) and the README table (`optionsMarkdown`).
 * The error classes are exported by `../errors.js`.
 */
export { describeOption, formatOptionsHelp, isCliOption, kebab, nearestName, optionsMarkdown, parseOptionText, resolveOptions } from './schema.js';
export type { OptionKind, OptionSpec, Schema } from './schema.js';
export { COMMON_OPTIONS, componentSchema, FUSION_COMPONENTS, MODEL_SCHEMAS, modelSchema, RENAMED_OPTIONS } from './models.js';
export type { FusionComponent } from './models.js';
