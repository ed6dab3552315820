/**
 * The messages between the preview panel's webview and the extension host: one union per
 * direction, shared by both sides so a change to either is a type error on the other. What the
 * webview sends is declared as a schema, checked at run time by the host (see webviewMessages.ts).
 */
import { boolean, oneOf, record, string, union, type Infer } from './schema';

/** A variable as the preview form needs it. */
export interface FieldView {
  readonly name: string;
  readonly type: 'text' | 'number' | 'dropdown' | 'boolean';
  readonly required: boolean;
  readonly help?: string;
  readonly default?: string | number | boolean;
  readonly options?: readonly (string | number | boolean)[];
  readonly min?: number;
  readonly max?: number;
  readonly maxLength?: number;
}

/** Variable names as templates declare them (see IDENTIFIER in core/template/issues.ts). */
const variableName = string({ max: 128, pattern: /^[A-Za-z_][A-Za-z0-9_]*$/, what: 'a variable name', refine: (n) => (n === '__proto__' ? 'a reserved name' : undefined) });

/** Form values: bounded in number and size (a long text field is still well under this). */
export const MAX_FORM_VALUES = 200;
export const MAX_FORM_VALUE_CHARS = 100_000;

const formValues = record(variableName, union(string({ max: MAX_FORM_VALUE_CHARS }), boolean()), { max: MAX_FORM_VALUES });

/** Values as the form holds them: text for text, number and dropdown fields; booleans for checkboxes. */
export type FormValues = Infer<typeof formValues>;

export interface TemplateProblem {
  readonly line: number;
  readonly code: string;
  readonly message: string;
}

/** A piece of the draft prompt: text as it would be sent, or where a missing or invalid value goes. */
export type PreviewSegment = { readonly kind: 'text'; readonly text: string } | { readonly kind: 'missing'; readonly variable: string };

/** A value "Fill sample values" put in a field, and which step of the sample rule gave it. */
export interface FilledValue {
  readonly name: string;
  readonly from: 'example' | 'default' | 'option' | 'range' | 'help' | 'name';
}

export type HostMessage =
  | {
      readonly type: 'template';
      readonly uri: string;
      readonly title: string;
      readonly fields: readonly FieldView[];
      readonly values: FormValues;
    }
  | {
      readonly type: 'rendered';
      /** The system prompt and prompt as they would be sent: only when every value is right. */
      readonly system?: string;
      readonly prompt?: string;
      /** What the panel shows: the prompt so far, missing values marked in place (absent when the template has errors). */
      readonly draft?: { readonly system?: readonly PreviewSegment[]; readonly prompt: readonly PreviewSegment[] };
      /** Problems with values, by variable. */
      readonly fieldErrors: Readonly<Record<string, string>>;
      /** Problems of the template itself, or with values it does not declare. */
      readonly problems: readonly string[];
      readonly templateErrors: readonly TemplateProblem[];
      readonly renderMs: number;
    }
  /** The form's values after "Fill sample values", with what was filled. */
  | { readonly type: 'values'; readonly values: FormValues; readonly filled: readonly FilledValue[] }
  | { readonly type: 'closed'; readonly reason: string };

export const webviewMessage = oneOf('type', {
  ready: {},
  values: { values: formValues },
  /** Fill each required value still empty by the sample rule (core/template/sampleValues.ts). */
  fillSamples: {},
});

export type WebviewMessage = Infer<typeof webviewMessage>;

/** What the webview keeps across reloads (getState/setState). */
export interface PreviewState {
  readonly uri: string;
}

export const PREVIEW_VIEW_TYPE = 'promptloom.preview';
