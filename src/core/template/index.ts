/** The `.prompt` template language: parse, diagnose, render. Pure: no `vscode`, no I/O. */
export * from './types';
export { LineIndex } from './lineIndex';
export { parseTemplate, templateNameFromFile, type ParsedTemplate, type ParseOptions } from './parse';
export { setActiveEdit, applyTextEdit, type SetActiveResult } from './setActive';
export { renderTemplate, type Rendered, type RenderProblem, type RenderResult, type RawParameters } from './render';
export { coerceValue, isTruthy } from './values';
export { FRONT_MATTER_KEYS, VARIABLE_KEYS } from './schema';
export * from './language';
export { DEFAULT_MODEL_ALIASES } from './frontMatter';
