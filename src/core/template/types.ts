/** Shapes shared by the template parser, the diagnostics and the renderer. No `vscode` here. */

/** 0-based line and UTF-16 character, as in VS Code and LSP. */
export interface Position {
  readonly line: number;
  readonly character: number;
}

export interface Range {
  readonly start: Position;
  readonly end: Position;
}

/** Half-open [start, end) offsets into the whole file text. Converted to a Range at the edge. */
export interface Span {
  readonly start: number;
  readonly end: number;
}

export type Severity = 'error' | 'warning' | 'info';

export type DiagnosticCode =
  | 'PL001'
  | 'PL002'
  | 'PL003'
  | 'PL004'
  | 'PL005'
  | 'PL006'
  | 'PL007'
  | 'PL008'
  | 'PL009'
  | 'PL010'
  | 'PL011'
  | 'PL012'
  | 'PL013';

export interface Diagnostic {
  readonly code: DiagnosticCode;
  readonly severity: Severity;
  readonly message: string;
  readonly range: Range;
  /** Machine-readable detail for quick fixes (e.g. the suggested key for PL007). */
  readonly data?: Readonly<Record<string, string>>;
}

export const VARIABLE_TYPES = ['text', 'number', 'dropdown', 'boolean'] as const;
export type VariableType = (typeof VARIABLE_TYPES)[number];

export const TIERS = ['template', 'scenario', 'edge_case'] as const;
export type Tier = (typeof TIERS)[number];

export const ESCAPE_MODES = ['html', 'xml', 'none'] as const;
export type EscapeMode = (typeof ESCAPE_MODES)[number];

export type Scalar = string | number | boolean;

export interface VariableDecl {
  readonly name: string;
  readonly type: VariableType;
  readonly required: boolean;
  readonly default?: Scalar;
  readonly options?: readonly Scalar[];
  readonly min?: number;
  readonly max?: number;
  readonly maxLength?: number;
  readonly help?: string;
  /** `values:` of a number variable: the numbers a value plan varies it over. */
  readonly values?: readonly number[];
  /** `step:` of a number variable: the spacing of a plan's spread over `min`..`max` (default 1). */
  readonly step?: number;
  /** `examples:` of a text variable: the texts a value plan varies it over. */
  readonly examples?: readonly string[];
  /** True when the file has no `variables:` block and this one was inferred from a placeholder. */
  readonly inferred: boolean;
  /** Where the variable is declared (its key in `variables:`), or its first use when inferred. */
  readonly nameSpan: Span;
}

/** Front-matter settings after validation; invalid values fall back to their defaults. */
export interface TemplateSettings {
  readonly name: string;
  readonly description?: string;
  readonly tier: Tier;
  readonly model?: string;
  readonly temperature?: number;
  readonly maxTokens?: number;
  readonly qualityThreshold?: number;
  readonly active: boolean;
  readonly personas: readonly string[];
  readonly emotions: readonly string[];
  readonly escape: EscapeMode;
}

/** One front-matter key with where it stands, for hover, completion and outline. */
export interface KeyInfo {
  /** e.g. `['tier']` or `['variables', 'persona', 'type']`. */
  readonly path: readonly string[];
  readonly keySpan: Span;
  readonly valueSpan?: Span;
}

// ---- Body syntax tree ---------------------------------------------------------------------

export interface TextNode {
  readonly kind: 'text';
  readonly text: string;
  readonly span: Span;
}

export interface PlaceholderNode {
  readonly kind: 'placeholder';
  readonly name: string;
  /** The whole `<<name>>` tag. */
  readonly span: Span;
  /** Just the name inside the tag. */
  readonly nameSpan: Span;
}

export interface InlineIfNode {
  readonly kind: 'inlineIf';
  readonly name: string;
  readonly whenTrue: string;
  readonly whenFalse: string;
  readonly span: Span;
  readonly nameSpan: Span;
}

export type BlockKind = 'if' | 'unless';

export interface BlockNode {
  readonly kind: 'block';
  readonly block: BlockKind;
  readonly name: string;
  readonly body: readonly BodyNode[];
  readonly elseBody: readonly BodyNode[];
  /** From the opening tag to the end of the closing tag (or of the text when unclosed). */
  readonly span: Span;
  readonly openSpan: Span;
  readonly nameSpan: Span;
  readonly elseSpan?: Span;
  readonly closeSpan?: Span;
}

export interface CommentNode {
  readonly kind: 'comment';
  readonly span: Span;
}

export type BodyNode = TextNode | PlaceholderNode | InlineIfNode | BlockNode | CommentNode;

/** A name used by a placeholder, block or inline if, with where it is used. */
export interface VariableUse {
  readonly name: string;
  readonly span: Span;
  readonly in: 'body' | 'system' | 'training_system';
  /** `value` for `<<name>>`; `condition` for `#if`, `#unless` and inline `if`. */
  readonly role: 'value' | 'condition';
}
