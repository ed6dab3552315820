/** The `.prompt` template language: parse, diagnose, render. Pure: no `vscode`, no I/O. */
export * from './types';
export { LineIndex } from './lineIndex';
export { parseTemplate, templateNameFromFile, type ParsedTemplate, type ParseOptions } from './parse';
export { setActiveEdit, applyTextEdit, type SetActiveResult } from './setActive';
export { renderTemplate, renderWithPlaceholders, type Draft, type DraftResult, type Segment, type Rendered, type RenderProblem, type RenderResult, type RawParameters } from './render';
export { coerceValue, isTruthy } from './values';
export { FRONT_MATTER_KEYS, VARIABLE_KEYS } from './schema';
export * from './language';
export { DEFAULT_MODEL_ALIASES } from './frontMatter';
export { sampleValue, sampleMissing, exampleInText, nameInWords, type Sample, type SampleSource, type SampleLists } from './sampleValues';
