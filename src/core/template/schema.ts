/**
 * The front-matter vocabulary of the `.prompt` format, with a sentence per key. The parser checks
 * keys against these tables; the editor uses the same sentences for hover and completion.
 */
export const FRONT_MATTER_KEYS = {
  name: 'Display name of the template. Default: the file name without `.prompt`.',
  description: 'What the template produces, for people browsing templates.',
  tier: 'Kind of conversation: `template` (everyday), `scenario` (a specific situation) or `edge_case` (unusual or hard cases). Sets the length targets of quality scoring. Default: `template`.',
  model: 'Claude model: an alias from the model table (such as `sonnet`) or a full model id.',
  temperature: 'Sampling temperature, 0 to 1.',
  max_tokens: 'Largest answer the model may give, in tokens (a positive integer).',
  quality_threshold: 'Quality bar from 0 to 1: a conversation scoring below threshold × 10 is flagged for revision.',
  active: 'Inactive templates (`false`) are out of rotation: generating from one asks first in the editor, and the CLI warns. Default: `true`.',
  personas: 'Personas this template applies to (a list of names).',
  emotions: 'Emotions this template applies to (a list of names).',
  escape: 'How inserted values are escaped: `html` (default; `& < > " \'`), `xml` (`& < >`) or `none`. Template text is never escaped.',
  system: 'The system prompt of generation. May hold placeholders like the body. Never exported.',
  training_system:
    "The system message written to exported training data, rendered with each conversation's values. May hold placeholders like `system:`. Without it, exports carry no system message.",
  variables: 'The typed variables the template uses. Without this block every placeholder is a required text variable.',
} as const satisfies Record<string, string>;

export type FrontMatterKey = keyof typeof FRONT_MATTER_KEYS;

export const VARIABLE_KEYS = {
  type: 'Kind of value: `text` (default), `number`, `dropdown` or `boolean`.',
  options: 'The values a `dropdown` variable may take.',
  default: 'Value used when none is given. A variable with a default is optional; without one it is required.',
  help: 'A sentence shown beside the field in the preview form. An "e.g. …" in it can give the sample value of Fill sample values.',
  min: 'Smallest value of a `number` variable.',
  max: 'Largest value of a `number` variable.',
  max_length: 'Longest value of a `text` variable, in characters.',
  values: 'The numbers a value plan varies a `number` variable over (each within `min`..`max`). Without it, a plan spreads over `min`..`max` by `step`.',
  step: 'Spacing of the spread a value plan varies a `number` variable over, from `min` to `max`. Default: 1.',
  examples: 'Example texts a value plan varies a `text` variable over (each within `max_length`). Without them a text variable cannot be varied (PL013). The first is its sample value (Fill sample values, `render --sample`).',
} as const satisfies Record<string, string>;

export type VariableKey = keyof typeof VARIABLE_KEYS;

export function isFrontMatterKey(key: string): key is FrontMatterKey {
  return Object.prototype.hasOwnProperty.call(FRONT_MATTER_KEYS, key);
}

export function isVariableKey(key: string): key is VariableKey {
  return Object.prototype.hasOwnProperty.call(VARIABLE_KEYS, key);
}
