import { LIMITS } from './limits';
import { ID_PATTERN } from './primitives';

/**
 * The node search language of `GET /v1/nodes?filter=` and `starminer nodes search`, in the style
 * of `vastai search offers`:
 *
 *     gpu=H100 vram>=80 region in [eu-west,us-east] reputation>0.9 online=true
 *
 * Terms are separated by spaces and ANDed; each is `field operator value`, with spaces allowed
 * around the operator. Operators: `= != < <= > >=`, and `in` / `notin` with a list `[a,b,...]`.
 * Values are typed by their field (text, integer, number, boolean); a value with spaces or one of
 * `[ ] , = ! < > ' "` is quoted, `gpu="RTX6000-Ada"` or `gpu='...'` (no escapes inside). Field names
 * are case-insensitive and may also be spelled as the API names them (`gpuModel`, `vramGiB`, ...).
 * Text compares exactly (the catalogue's spelling: `H100`, `RTX4090`).
 *
 * Pure: the parser turns a string into typed terms or a NodeFilterError naming the term, its
 * position (0-based character offset) and what was expected; the gateway turns the terms into a
 * parameterised query, and `matchesNodeFilter` evaluates them in memory with the same meaning.
 */

export type NodeFilterType = 'text' | 'integer' | 'number' | 'boolean';

/** What a filter can read of a node: the columns of the gateway's node view. */
export interface NodeFilterable {
  readonly gpuModel: string;
  readonly gpuCount: number;
  readonly vramGiB: number;
  readonly region: string;
  readonly latencyMs: number;
  readonly tee: boolean;
  readonly reputation: number;
  readonly benchmarkScore: number;
  readonly online: boolean;
  readonly providerId: string;
}
export type NodeFilterColumn = keyof NodeFilterable;

interface FieldSpec {
  readonly column: NodeFilterColumn;
  readonly type: NodeFilterType;
  readonly description: string;
  /** text: the longest value that can match (a longer one is a typo, said so) */
  readonly maxLength?: number;
}

/** The fields a filter may name, each with the node column it reads and the type of its values. */
export const NODE_FILTER_FIELDS = {
  gpu: { column: 'gpuModel', type: 'text', description: 'the GPU model, as the catalogue spells it (H100, RTX4090)', maxLength: LIMITS.gpuModelLengthMax },
  gpus: { column: 'gpuCount', type: 'integer', description: 'GPUs on the node' },
  vram: { column: 'vramGiB', type: 'integer', description: 'GiB of VRAM of one GPU' },
  region: { column: 'region', type: 'text', description: 'the region (eu-west)', maxLength: LIMITS.regionLengthMax },
  latency: { column: 'latencyMs', type: 'integer', description: "milliseconds to its region's edge" },
  tee: { column: 'tee', type: 'boolean', description: 'runs in a trusted execution environment' },
  reputation: { column: 'reputation', type: 'number', description: 'reputation from settled outcomes, 0..1' },
  benchmark: { column: 'benchmarkScore', type: 'number', description: 'the benchmark score it measured' },
  online: { column: 'online', type: 'boolean', description: 'heartbeating now' },
  provider: { column: 'providerId', type: 'text', description: 'the provider id', maxLength: LIMITS.idLengthMax },
} as const satisfies Record<string, FieldSpec>;
export type NodeFilterField = keyof typeof NODE_FILTER_FIELDS;

export const NODE_FILTER_OPERATORS = ['=', '!=', '<', '<=', '>', '>=', 'in', 'notin'] as const;
export type NodeFilterOperator = (typeof NODE_FILTER_OPERATORS)[number];

/** The operators each type of value has: an order for numbers, lists for what is counted or named. */
export const NODE_FILTER_OPERATORS_OF: Record<NodeFilterType, readonly NodeFilterOperator[]> = {
  text: ['=', '!=', 'in', 'notin'],
  integer: ['=', '!=', '<', '<=', '>', '>=', 'in', 'notin'],
  // reputation and scores are measured, not counted: equality to a list of them means nothing
  number: ['=', '!=', '<', '<=', '>', '>='],
  boolean: ['=', '!='],
};

/**
 * The largest integer value: integer columns are Postgres `int` (32-bit), and a parameter past it
 * would fail the query rather than match nothing.
 */
export const NODE_FILTER_INTEGER_MAX = 2_147_483_647;
/** Digits of a number value, each side of the point: far past any score, short of float noise. */
const NUMBER_DIGITS_MAX = 15;

export type NodeFilterValue = string | number | boolean;

export interface NodeFilterTerm {
  readonly field: NodeFilterField;
  readonly column: NodeFilterColumn;
  readonly type: NodeFilterType;
  readonly op: NodeFilterOperator;
  /** one value for a comparison; 1..nodeFilterListItemsMax for `in` / `notin` */
  readonly values: readonly NodeFilterValue[];
  /** where the term starts in the filter, and its text */
  readonly position: number;
  readonly text: string;
}

export interface NodeFilter {
  readonly terms: readonly NodeFilterTerm[];
}

/** A filter that does not parse: the term, where (0-based offset into the filter), and what was expected there. */
export class NodeFilterError extends Error {
  override readonly name = 'NodeFilterError';
  constructor(
    readonly position: number,
    readonly term: string,
    readonly expected: string,
  ) {
    super(`filter at ${position}${term ? ` (${JSON.stringify(term)})` : ''}: expected ${expected}`);
  }

  /** The details of a BAD_FILTER answer. */
  get details(): { term: string; position: number; expected: string } {
    return { term: this.term, position: this.position, expected: this.expected };
  }
}

const FIELD_BY_NAME: ReadonlyMap<string, NodeFilterField> = new Map(
  (Object.entries(NODE_FILTER_FIELDS) as [NodeFilterField, FieldSpec][]).flatMap(([name, f]) => [
    [name, name],
    [f.column.toLowerCase(), name],
  ]),
);
const FIELD_NAMES = Object.keys(NODE_FILTER_FIELDS).join(', ');

const IDENT = /[A-Za-z][A-Za-z0-9_]*/y;
const SYMBOL_OPERATOR = /<=|>=|!=|=|<|>/y;
const WORD_OPERATOR = /(notin|in)(?=[\s[]|$)/iy;
const BARE_VALUE = /[^\s[\],=!<>"']+/y;
const QUOTED_VALUE = /"[^"]*"|'[^']*'/y;
const SPACES = /\s+/y;
const LENIENT_TERM = /(?:[A-Za-z][A-Za-z0-9_]*)?\s*(?:[<>=!]+|[A-Za-z]+)?\s*(?:\[[^\]]*\]?|"[^"]*"?|'[^']*'?|\S*)/y;
// eslint-disable-next-line no-control-regex -- control characters are what a typed filter never holds
const CONTROL = /[\u0000-\u0008\u000e-\u001f\u007f]/;
// what Postgres cannot store (isStorableText), located: half of a UTF-16 pair without its other half
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const INTEGER = /^[0-9]{1,10}$/;
const NUMBER = new RegExp(`^[0-9]{1,${NUMBER_DIGITS_MAX}}(\\.[0-9]{1,${NUMBER_DIGITS_MAX}})?$`);

const LIST_OPERATORS: readonly NodeFilterOperator[] = ['in', 'notin'];

/** Reads a string from left to right; `fail` names the term being read and the position. */
class Scanner {
  pos = 0;
  termStart = 0;
  constructor(readonly src: string) {}

  get done(): boolean {
    return this.pos >= this.src.length;
  }

  take(re: RegExp): string | null {
    re.lastIndex = this.pos;
    const m = re.exec(this.src);
    if (!m) return null;
    this.pos += m[0].length;
    return m[0];
  }

  skipSpaces(): boolean {
    return this.take(SPACES) !== null;
  }

  /**
   * The text of the term being read, for the error: the term read leniently (a field, an operator,
   * a value, a quoted value or a list, each perhaps cut short) from its start, or from its start to
   * the next space after the failure when that reaches further.
   */
  termText(at: number): string {
    LENIENT_TERM.lastIndex = this.termStart;
    const read = this.termStart + (LENIENT_TERM.exec(this.src)?.[0].length ?? 0);
    let end = read;
    if (read <= at) {
      const ws = this.src.slice(at).search(/\s/);
      end = ws < 0 ? this.src.length : at + ws;
    }
    return this.src.slice(this.termStart, end);
  }

  fail(at: number, expected: string): never {
    throw new NodeFilterError(at, this.termText(at), expected);
  }
}

/**
 * Parses a filter: an empty (or all-space) filter has no terms and matches every node.
 * Throws NodeFilterError for anything else that is not a filter.
 */
export function parseNodeFilter(src: string): NodeFilter {
  if (src.length > LIMITS.nodeFilterLengthMax) throw new NodeFilterError(LIMITS.nodeFilterLengthMax, '', `at most ${LIMITS.nodeFilterLengthMax} characters`);
  const bad = CONTROL.exec(src) ?? LONE_SURROGATE.exec(src);
  if (bad) throw new NodeFilterError(bad.index, '', 'printable text (no control characters, no lone surrogates)');
  const s = new Scanner(src);
  const terms: NodeFilterTerm[] = [];
  s.skipSpaces();
  while (!s.done) {
    s.termStart = s.pos;
    if (terms.length === LIMITS.nodeFilterTermsMax) s.fail(s.pos, `at most ${LIMITS.nodeFilterTermsMax} terms`);
    terms.push(parseTerm(s));
    if (s.done) break;
    if (!s.skipSpaces()) s.fail(s.pos, 'a space before the next term');
  }
  return { terms };
}

function parseTerm(s: Scanner): NodeFilterTerm {
  const start = s.pos;
  const name = s.take(IDENT);
  if (name === null) s.fail(s.pos, `a field name (${FIELD_NAMES})`);
  const field = FIELD_BY_NAME.get(name.toLowerCase());
  if (field === undefined) s.fail(start, `a field name (${FIELD_NAMES})`);
  const spec: FieldSpec = NODE_FILTER_FIELDS[field];
  const allowed = NODE_FILTER_OPERATORS_OF[spec.type];
  s.skipSpaces();
  const opAt = s.pos;
  const op = (s.take(SYMBOL_OPERATOR) ?? s.take(WORD_OPERATOR)?.toLowerCase() ?? null) as NodeFilterOperator | null;
  if (op === null || !allowed.includes(op)) s.fail(opAt, `an operator for ${field} (${spec.type}): ${allowed.join(' ')}`);
  s.skipSpaces();
  const values = LIST_OPERATORS.includes(op) ? parseList(s, field, spec) : [parseValue(s, field, spec)];
  return { field, column: spec.column, type: spec.type, op, values, position: start, text: s.src.slice(start, s.pos) };
}

function parseList(s: Scanner, field: NodeFilterField, spec: FieldSpec): NodeFilterValue[] {
  if (s.take(/\[/y) === null) s.fail(s.pos, `a list of values in brackets, [a,b]`);
  const values: NodeFilterValue[] = [];
  for (;;) {
    s.skipSpaces();
    if (values.length === LIMITS.nodeFilterListItemsMax) s.fail(s.pos, `at most ${LIMITS.nodeFilterListItemsMax} values in a list`);
    values.push(parseValue(s, field, spec));
    s.skipSpaces();
    if (s.take(/\]/y) !== null) return values;
    if (s.take(/,/y) === null) s.fail(s.pos, 'a comma or the closing bracket ]');
  }
}

function parseValue(s: Scanner, field: NodeFilterField, spec: FieldSpec): NodeFilterValue {
  const at = s.pos;
  let raw: string | null;
  if (s.src[at] === '"' || s.src[at] === "'") {
    raw = s.take(QUOTED_VALUE);
    if (raw === null) s.fail(at, `a closing quote ${s.src[at]}`);
    raw = raw.slice(1, -1);
  } else {
    raw = s.take(BARE_VALUE);
    if (raw === null) s.fail(at, `a value for ${field} (${describeType(spec)})`);
  }
  const value = typedValue(raw, spec);
  if (value === undefined) s.fail(at, `a value for ${field}: ${describeType(spec)}`);
  return value;
}

function typedValue(raw: string, spec: FieldSpec): NodeFilterValue | undefined {
  switch (spec.type) {
    case 'text':
      if (raw.length === 0 || raw.length > (spec.maxLength ?? LIMITS.idLengthMax)) return undefined;
      if (spec.column === 'providerId' && !ID_PATTERN.test(raw)) return undefined;
      return raw;
    case 'integer': {
      const n = INTEGER.test(raw) ? Number(raw) : NaN;
      return n <= NODE_FILTER_INTEGER_MAX ? n : undefined;
    }
    case 'number':
      return NUMBER.test(raw) ? Number(raw) : undefined;
    case 'boolean': {
      const b = raw.toLowerCase();
      return b === 'true' ? true : b === 'false' ? false : undefined;
    }
    default:
      return assertNever(spec.type);
  }
}

function describeType(spec: FieldSpec): string {
  switch (spec.type) {
    case 'text':
      return spec.column === 'providerId' ? `an id (1-${LIMITS.idLengthMax} of A-Z a-z 0-9 _ -)` : `text of 1-${spec.maxLength} characters`;
    case 'integer':
      return `an integer 0..${NODE_FILTER_INTEGER_MAX}`;
    case 'number':
      return 'a non-negative decimal number (0.9, 1200)';
    case 'boolean':
      return 'true or false';
    default:
      return assertNever(spec.type);
  }
}

function assertNever(x: never): never {
  throw new Error(`unexpected ${String(x)}`);
}

/** Whether a node passes every term: the meaning the gateway's query gives the filter, in memory. */
export function matchesNodeFilter(filter: NodeFilter, node: NodeFilterable): boolean {
  return filter.terms.every((t) => matchesTerm(t, node[t.column]));
}

function matchesTerm(t: NodeFilterTerm, actual: NodeFilterValue): boolean {
  const [v] = t.values;
  switch (t.op) {
    case '=':
      return actual === v;
    case '!=':
      return actual !== v;
    case '<':
      return actual < v;
    case '<=':
      return actual <= v;
    case '>':
      return actual > v;
    case '>=':
      return actual >= v;
    case 'in':
      return t.values.includes(actual);
    case 'notin':
      return !t.values.includes(actual);
    default:
      return assertNever(t.op);
  }
}

/** The language in a few lines, for the OpenAPI description and the CLI's help. */
export function nodeFilterHelp(): string {
  const fields = (Object.entries(NODE_FILTER_FIELDS) as [NodeFilterField, FieldSpec][]).map(
    ([name, f]) => `${name} (${f.column}; ${f.type}: ${NODE_FILTER_OPERATORS_OF[f.type].join(' ')}): ${f.description}`,
  );
  return [
    'Terms separated by spaces, all of which a node must pass: `field operator value`, e.g. `gpu=H100 vram>=80 region in [eu-west,us-east] reputation>0.9 online=true`.',
    'Operators = != < <= > >=, and in / notin with a list [a,b]. Quote a value with spaces or [ ] , = ! < > in "..." or \'...\'. Field names are case-insensitive; the API names (gpuModel, vramGiB, ...) work too.',
    `At most ${LIMITS.nodeFilterLengthMax} characters, ${LIMITS.nodeFilterTermsMax} terms, ${LIMITS.nodeFilterListItemsMax} values in a list. Fields:`,
    ...fields.map((f) => `- ${f}`),
  ].join('\n');
}
