/**
 * Runtime checks for data that crosses from a webview into the extension host, each carrying the
 * TypeScript type it proves: a protocol declares its schema once and derives its type with
 * `Infer`, so the check and the type cannot drift apart. Pure, so the webview bundles and plain
 * unit tests can import it.
 *
 * Objects are strict (an unknown key is an error), strings bounded, numbers finite and ranged.
 * A failure says where and what, quoting at most a short piece of the value.
 */
export interface Schema<T> {
  /** Undefined when `value` is a T; otherwise what is wrong with it, prefixed by `at`. */
  readonly check: (value: unknown, at: string) => string | undefined;
  /** Never set: carries T for `Infer`. */
  readonly _type?: T;
}

export type Infer<S> = S extends Schema<infer T> ? T : never;

export type Checked<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly problem: string };

/** Checks `value` against `schema`; `at` names the whole value in the problem. */
export function validate<T>(schema: Schema<T>, value: unknown, at = 'message'): Checked<T> {
  const problem = schema.check(value, at);
  return problem === undefined ? { ok: true, value: value as T } : { ok: false, problem };
}

/** A short, safe description of a value for a problem line: never the whole of a large one. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  switch (typeof value) {
    case 'string':
      return value.length > 40 ? `a string of ${value.length} characters` : JSON.stringify(value);
    case 'number':
    case 'boolean':
      return String(value);
    case 'object':
      return 'an object';
    default:
      return typeof value;
  }
}

function schema<T>(check: (value: unknown, at: string) => string | undefined): Schema<T> {
  return { check };
}

export function literal<const L extends string | number | boolean>(...values: readonly L[]): Schema<L> {
  const allowed = values.map((v) => JSON.stringify(v)).join(', ');
  return schema((value, at) => ((values as readonly unknown[]).includes(value) ? undefined : `${at}: expected one of ${allowed}, got ${describeValue(value)}`));
}

export interface StringRules {
  /** Most characters allowed (required: every string is bounded). */
  readonly max: number;
  readonly min?: number;
  /** Whole-string pattern, and what it means in a problem ("a conversation id"). */
  readonly pattern?: RegExp;
  readonly what?: string;
  /** A further check: undefined when fine, else what is wrong. */
  readonly refine?: (value: string) => string | undefined;
}

export function string(rules: StringRules): Schema<string> {
  const min = rules.min ?? 0;
  return schema((value, at) => {
    if (typeof value !== 'string') return `${at}: expected ${rules.what ?? 'a string'}, got ${describeValue(value)}`;
    if (value.length > rules.max) return `${at}: longer than ${rules.max} characters (${value.length})`;
    if (value.length < min) return `${at}: shorter than ${min} characters`;
    if (rules.pattern && !rules.pattern.test(value)) return `${at}: expected ${rules.what ?? `a string matching ${rules.pattern}`}, got ${describeValue(value)}`;
    const refined = rules.refine?.(value);
    return refined === undefined ? undefined : `${at}: ${refined}, got ${describeValue(value)}`;
  });
}

export interface NumberRules {
  readonly min: number;
  readonly max: number;
  readonly integer?: boolean;
}

/** A finite number in [min, max] (NaN and infinities never pass). */
export function number(rules: NumberRules): Schema<number> {
  return schema((value, at) => {
    if (typeof value !== 'number' || !Number.isFinite(value)) return `${at}: expected a finite number, got ${describeValue(value)}`;
    if (rules.integer && !Number.isInteger(value)) return `${at}: expected a whole number, got ${value}`;
    if (value < rules.min || value > rules.max) return `${at}: ${value} is outside ${rules.min}..${rules.max}`;
    return undefined;
  });
}

export function boolean(): Schema<boolean> {
  return schema((value, at) => (typeof value === 'boolean' ? undefined : `${at}: expected true or false, got ${describeValue(value)}`));
}

export function array<T>(item: Schema<T>, rules: { readonly max: number }): Schema<readonly T[]> {
  return schema((value, at) => {
    if (!Array.isArray(value)) return `${at}: expected an array, got ${describeValue(value)}`;
    if (value.length > rules.max) return `${at}: more than ${rules.max} items (${value.length})`;
    for (let i = 0; i < value.length; i++) {
      const problem = item.check(value[i], `${at}[${i}]`);
      if (problem !== undefined) return problem;
    }
    return undefined;
  });
}

/** The value matches one of the schemas (tried in order). */
export function union<S extends readonly Schema<unknown>[]>(...options: S): Schema<Infer<S[number]>> {
  return schema((value, at) => {
    const problems = options.map((o) => o.check(value, at));
    return problems.includes(undefined) ? undefined : problems.join('; or ');
  });
}

/** A key an object may lack (never present with `undefined`: the protocols use exact optional properties). */
export interface Optional<T> {
  readonly optional: Schema<T>;
}

export function optional<T>(inner: Schema<T>): Optional<T> {
  return { optional: inner };
}

type Shape = Readonly<Record<string, Schema<unknown> | Optional<unknown>>>;
type Flatten<T> = { [K in keyof T]: T[K] } & {};
type RequiredKeys<S extends Shape> = { [K in keyof S]: S[K] extends Optional<unknown> ? never : K }[keyof S];
type OptionalKeys<S extends Shape> = Exclude<keyof S, RequiredKeys<S>>;
type InferField<F> = F extends Optional<infer T> ? T : Infer<F>;
export type InferShape<S extends Shape> = Flatten<{ readonly [K in RequiredKeys<S>]: InferField<S[K]> } & { readonly [K in OptionalKeys<S>]?: InferField<S[K]> }>;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkShape(shape: Shape, value: Record<string, unknown>, at: string, ignore?: string): string | undefined {
  for (const key of Object.keys(value)) {
    if (key !== ignore && !Object.hasOwn(shape, key)) return `${at}: unexpected key ${describeValue(key)}`;
  }
  for (const [key, field] of Object.entries(shape)) {
    const present = Object.hasOwn(value, key);
    if ('optional' in field) {
      if (!present) continue;
      const problem = field.optional.check(value[key], `${at}.${key}`);
      if (problem !== undefined) return problem;
    } else {
      if (!present) return `${at}: missing ${key}`;
      const problem = field.check(value[key], `${at}.${key}`);
      if (problem !== undefined) return problem;
    }
  }
  return undefined;
}

/** A plain object with exactly these keys (optional ones may be absent); any other key is an error. */
export function object<S extends Shape>(shape: S): Schema<InferShape<S>> {
  return schema((value, at) => (isPlainObject(value) ? checkShape(shape, value, at) : `${at}: expected an object, got ${describeValue(value)}`));
}

/** An object used as a map: at most `max` entries, each key and value checked. */
export function record<V>(key: Schema<string>, value: Schema<V>, rules: { readonly max: number }): Schema<Readonly<Record<string, V>>> {
  return schema((v, at) => {
    if (!isPlainObject(v)) return `${at}: expected an object, got ${describeValue(v)}`;
    const entries = Object.entries(v);
    if (entries.length > rules.max) return `${at}: more than ${rules.max} entries (${entries.length})`;
    for (const [k, item] of entries) {
      const problem = key.check(k, `${at} key`) ?? value.check(item, `${at}.${k}`);
      if (problem !== undefined) return problem;
    }
    return undefined;
  });
}

type Variants = Readonly<Record<string, Shape>>;
export type InferVariants<Tag extends string, V extends Variants> = { [K in keyof V & string]: Flatten<{ readonly [T in Tag]: K } & InferShape<V[K]>> }[keyof V & string];

/**
 * A discriminated union: `tag` (such as `type`) names the variant, and the rest of the object
 * must match that variant's shape exactly.
 */
export function oneOf<const Tag extends string, const V extends Variants>(tag: Tag, variants: V): Schema<InferVariants<Tag, V>> {
  const names = Object.keys(variants);
  return schema((value, at) => {
    if (!isPlainObject(value)) return `${at}: expected an object, got ${describeValue(value)}`;
    const name = value[tag];
    if (typeof name !== 'string' || !Object.hasOwn(variants, name)) return `${at}.${tag}: expected one of ${names.map((n) => JSON.stringify(n)).join(', ')}, got ${describeValue(name)}`;
    return checkShape(variants[name]!, value, `${at} (${name})`, tag);
  });
}

/** Conversation ids are `crypto.randomUUID()` (see GenerationRepository): lowercase 8-4-4-4-12 hex. */
export const conversationId = string({ max: 36, pattern: /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, what: 'a conversation id' });

/** Database row ids (templates, versions): SQLite rowids, positive safe integers. */
export const rowId = number({ min: 1, max: Number.MAX_SAFE_INTEGER, integer: true });

/**
 * Why `path` is not a workspace-relative path that stays inside the workspace, or undefined when
 * it is one: `/`-separated (as the store keeps them), no `.` or `..` segment, not absolute, no
 * drive, no scheme, no backslash or control character.
 */
export function relativePathProblem(path: string): string | undefined {
  if (path.length === 0) return 'an empty path';
  // eslint-disable-next-line no-control-regex -- control characters are what this rejects
  if (/[\\\u0000-\u001f]/.test(path)) return 'a path with a backslash or control character';
  if (path.startsWith('/')) return 'an absolute path';
  if (/^[A-Za-z][A-Za-z0-9+.-]*:/.test(path)) return 'a path with a drive or scheme';
  if (path.split('/').some((segment) => segment === '' || segment === '.' || segment === '..')) return 'a path with an empty, . or .. segment';
  return undefined;
}

/** A workspace-relative file path (templates, as the store names them). */
export const workspacePath = string({ min: 1, max: 1024, what: 'a workspace-relative path', refine: (p) => (relativePathProblem(p) ? `not a path inside the workspace (${relativePathProblem(p)})` : undefined) });
