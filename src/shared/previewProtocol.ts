/**
 * The messages between the preview panel's webview and the extension host: one union per
 * direction, shared by both sides so a change to either is a type error on the other.
 */

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

/** Values as the form holds them: text for text, number and dropdown fields; booleans for checkboxes. */
export type FormValues = Readonly<Record<string, string | boolean>>;

export interface TemplateProblem {
  readonly line: number;
  readonly code: string;
  readonly message: string;
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
      readonly system?: string;
      readonly prompt?: string;
      /** Problems with values, by variable. */
      readonly fieldErrors: Readonly<Record<string, string>>;
      /** Problems of the template itself, or with values it does not declare. */
      readonly problems: readonly string[];
      readonly templateErrors: readonly TemplateProblem[];
      readonly renderMs: number;
    }
  | { readonly type: 'closed'; readonly reason: string };

export type WebviewMessage =
  | { readonly type: 'ready' }
  | { readonly type: 'values'; readonly values: FormValues };

/** What the webview keeps across reloads (getState/setState). */
export interface PreviewState {
  readonly uri: string;
}

export const PREVIEW_VIEW_TYPE = 'promptloom.preview';
