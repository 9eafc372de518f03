import type { ArrayExpression, Expression, Node, ObjectExpression } from '@babel/types';
import { isAgentCodeValue } from '@runtools/sdk/api';
import MagicString from 'magic-string';
import { findProperty, propertyKey, staticValue } from './agent-fields.ts';
import { type ParsedAgentFile, parseAgentFile, unwrap } from './agent-file-parse.ts';
import {
  detectStyle,
  type FileStyle,
  lineEnd,
  lineIndent,
  printKey,
  printValue,
} from './agent-literal.ts';

/** A field set to `null` is removed from the file. */
export type AgentFieldChanges = Readonly<Record<string, unknown>>;

const remove = Symbol('remove');

/** Fields whose code parts are read as markers (`{ $code }`) and kept as they are. */
const codeFields = new Set(['workflow']);
type Change = unknown | typeof remove;

/** One entry of an array or object written one per line: its lines, and its comma. */
interface Chunk {
  /** The start of the first line after the previous entry (leading comment lines included). */
  start: number;
  /** After the end of the entry's last line. */
  end: number;
  /** The offset of the comma after the entry, -1 without one. */
  comma: number;
}

/**
 * Writes `changes` into the agent's object literal of `parsed` and returns the new text. Only
 * the changed values' text changes: an unchanged value is not touched, a string keeps its quote
 * style (a multi-line one becomes a template literal), an array or object written one entry per
 * line keeps each kept entry's line (with its comments) and adds new entries in the same
 * layout, and a new field goes after the last one, indented like it. The result is re-parsed
 * and each changed value read back; a layout the careful edit cannot keep is written again as a
 * plain replacement of the changed values. In the workflow, a code marker (`{ $code }`) stands
 * for a sub-expression that is code (a zod schema, a function): where it is unchanged its text
 * is not touched, and a marker written elsewhere is written as its source text. The caller checks
 * that the fields may be edited and that the markers are the field's own (`foreignCode`).
 */
export function editAgentSource(parsed: ParsedAgentFile, changes: AgentFieldChanges): string {
  if (parsed.object === null) throw new Error('the file has no agent object to edit');
  const careful = new AgentEditor(parsed, false).apply(changes);
  if (readsBack(careful, changes)) return careful;
  const plain = new AgentEditor(parsed, true).apply(changes);
  if (readsBack(plain, changes)) return plain;
  throw new Error('the edit did not read back as written');
}

/** True when `text` parses and holds `changes` as its fields' values. */
function readsBack(text: string, changes: AgentFieldChanges): boolean {
  let parsed: ParsedAgentFile;
  try {
    parsed = parseAgentFile(text);
  } catch {
    return false;
  }
  if (parsed.object === null) return false;
  for (const [name, value] of Object.entries(changes)) {
    const prop = findProperty(parsed.object, name);
    if (value === null) {
      if (prop !== undefined) return false;
      continue;
    }
    if (prop === undefined) return false;
    const v = staticValue(prop.value as Expression, parsed, { code: codeFields.has(name) });
    if (!v.ok || !sameValue(v.value, value)) return false;
  }
  return true;
}

/** Deep equality of JSON values. */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => sameValue(x, b[i]));
  }
  if (isPlainObject(a) && isPlainObject(b)) {
    const ka = Object.keys(a);
    if (ka.length !== Object.keys(b).length) return false;
    return ka.every((k) => Object.hasOwn(b, k) && sameValue(a[k], b[k]));
  }
  return false;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

class AgentEditor {
  readonly #text: string;
  readonly #parsed: ParsedAgentFile;
  readonly #style: FileStyle;
  readonly #ms: MagicString;
  /** Replace changed values whole, without keeping the layout of arrays and objects. */
  readonly #plain: boolean;

  constructor(parsed: ParsedAgentFile, plain: boolean) {
    this.#text = parsed.text;
    this.#parsed = parsed;
    this.#style = detectStyle(parsed.text, parsed.ast.program, parsed.object);
    this.#ms = new MagicString(parsed.text);
    this.#plain = plain;
  }

  apply(changes: AgentFieldChanges): string {
    const object = this.#parsed.object as ObjectExpression;
    const map = new Map<string, Change>(
      Object.entries(changes).map(([k, v]) => [k, v === null ? remove : v]),
    );
    this.#editObject(object, map, lineIndent(this.#text, object.start ?? 0), (k) =>
      codeFields.has(k),
    );
    return this.#ms.toString();
  }

  /** `code`: read code parts as markers (inside the workflow). */
  #editValue(node: Expression, value: unknown, indent: string, code: boolean): void {
    const n = unwrap(node);
    const current = staticValue(n, this.#parsed, { code });
    if (current.ok && sameValue(current.value, value)) return;
    if (!this.#plain && current.ok && !isAgentCodeValue(current.value)) {
      if (n.type === 'ArrayExpression' && Array.isArray(value)) {
        this.#editArray(n, value, indent, code);
        return;
      }
      if (n.type === 'ObjectExpression' && isPlainObject(value) && isPlainObject(current.value)) {
        const changes = new Map<string, Change>();
        for (const k of Object.keys(current.value))
          if (!Object.hasOwn(value, k)) changes.set(k, remove);
        for (const [k, v] of Object.entries(value)) changes.set(k, v);
        this.#editObject(n, changes, indent, () => code);
        return;
      }
    }
    this.#ms.overwrite(n.start ?? 0, n.end ?? 0, printValue(value, this.#style, indent, n, code));
  }

  /** The entries' chunks when each entry has lines of its own, else null. */
  #chunks(node: Node, entries: readonly Node[]): Chunk[] | null {
    const text = this.#text;
    if (entries.length === 0) return null;
    let previous = lineEnd(text, node.start ?? 0);
    const chunks: Chunk[] = [];
    for (const e of entries) {
      const start = e.start ?? 0;
      const end = e.end ?? 0;
      if (start < previous) return null;
      const rest = text.slice(end, lineEnd(text, end));
      const comma = /^(?:[ \t]*\/\*(?:(?!\*\/).)*\*\/)*[ \t]*,/.exec(rest);
      // After the entry and its comma only comments and the line's end.
      const after = rest.slice(comma ? comma[0].length : 0);
      if (!/^(?:[ \t]*\/\*(?:(?!\*\/).)*\*\/)*[ \t]*(\/\/.*)?\r?\n?$/.test(after)) return null;
      const chunkEnd = lineEnd(text, end);
      chunks.push({
        start: previous,
        end: chunkEnd,
        comma: comma ? end + comma[0].length - 1 : -1,
      });
      previous = chunkEnd;
    }
    if ((node.end ?? 0) - 1 < previous) return null;
    return chunks;
  }

  #editArray(node: ArrayExpression, value: unknown[], indent: string, code: boolean): void {
    const text = this.#text;
    const elements = node.elements as Expression[];
    const olds = elements.map(
      (e) => (staticValue(e, this.#parsed, { code }) as { value: unknown }).value,
    );
    const pairs = commonSubsequence(olds, value);
    const chunks = this.#chunks(node, elements);
    if (value.length === 0) {
      this.#ms.overwrite(node.start ?? 0, node.end ?? 0, '[]');
      return;
    }
    const newOf = new Map(pairs.map(([o, n]) => [o, n]));
    const oldOf = new Map(pairs.map(([o, n]) => [n, o]));
    if (chunks === null) {
      if (multiline(text, node)) {
        this.#ms.overwrite(
          node.start ?? 0,
          node.end ?? 0,
          printValue(value, this.#style, indent, undefined, code),
        );
        return;
      }
      // One line: kept elements keep their text, the spacing inside the brackets stays.
      const first = elements[0];
      const inner = text.slice((node.start ?? 0) + 1, (node.end ?? 0) - 1);
      const lead = first ? (/^\s*/.exec(inner)?.[0] ?? '') : '';
      const tail = first ? (/\s*$/.exec(inner)?.[0] ?? '') : '';
      const between =
        elements.length >= 2 ? text.slice(elements[0]?.end ?? 0, elements[1]?.start ?? 0) : '';
      const sep = /^\s*,\s*$/.test(between) ? between : ', ';
      const trailing = (node.extra as { trailingComma?: number } | undefined)?.trailingComma;
      const items = value.map((v, i) => {
        const o = oldOf.get(i);
        const e = o === undefined ? undefined : elements[o];
        return e
          ? text.slice(e.start ?? 0, e.end ?? 0)
          : printValue(v, this.#style, indent, undefined, code);
      });
      const body = `[${lead}${items.join(sep)}${trailing !== undefined ? ',' : ''}${tail}]`;
      this.#ms.overwrite(node.start ?? 0, node.end ?? 0, body);
      return;
    }
    const entryIndent = lineIndent(text, elements[0]?.start ?? 0);
    const trailing = (chunks.at(-1) as Chunk).comma !== -1;
    const wantComma = (n: number) => n < value.length - 1 || trailing;
    elements.forEach((e, o) => {
      const chunk = chunks[o] as Chunk;
      const n = newOf.get(o);
      if (n === undefined) {
        this.#ms.remove(chunk.start, chunk.end);
        return;
      }
      if (chunk.comma !== -1 && !wantComma(n)) this.#ms.remove(chunk.comma, chunk.comma + 1);
      if (chunk.comma === -1 && wantComma(n)) this.#ms.appendLeft(e.end ?? 0, ',');
    });
    const inserts = new Map<number, string>();
    value.forEach((v, n) => {
      if (oldOf.has(n)) return;
      const next = pairs.find(([, m]) => m > n);
      const anchor = next ? (chunks[next[0]] as Chunk).start : (chunks.at(-1) as Chunk).end;
      const line = `${entryIndent}${printValue(v, this.#style, entryIndent, undefined, code)}${wantComma(n) ? ',' : ''}${this.#style.eol}`;
      inserts.set(anchor, (inserts.get(anchor) ?? '') + line);
    });
    this.#insert(inserts);
  }

  /** Inserts whole lines before the line that starts at each anchor. */
  #insert(inserts: Map<number, string>): void {
    for (const [anchor, lines] of inserts) this.#ms.prependRight(anchor, lines);
  }

  /** `codeOf(key)`: whether that property's value is read with code markers. */
  #editObject(
    node: ObjectExpression,
    changes: Map<string, Change>,
    indent: string,
    codeOf: (key: string) => boolean,
  ): void {
    const text = this.#text;
    const props = node.properties;
    const chunks = this.#plain ? null : this.#chunks(node, props);
    const existing = new Set<string>();
    const removed = new Set<number>();
    props.forEach((p, i) => {
      if (p.type !== 'ObjectProperty') return;
      const key = propertyKey(p);
      if (key === undefined || !changes.has(key) || findProperty(node, key) !== p) return;
      existing.add(key);
      const change = changes.get(key);
      if (change === remove) {
        removed.add(i);
        this.#removeProperty(node, i, chunks);
      } else {
        this.#editValue(p.value as Expression, change, lineIndent(text, p.start ?? 0), codeOf(key));
      }
    });
    const added = [...changes].filter(([k, v]) => v !== remove && !existing.has(k));
    const kept = props.map((_, i) => i).filter((i) => !removed.has(i));
    const lastKept = kept.at(-1);
    if (chunks !== null) {
      const trailing = (chunks.at(-1) as Chunk).comma !== -1;
      const entryIndent = lineIndent(text, props[0]?.start ?? 0);
      if (lastKept !== undefined) {
        const chunk = chunks[lastKept] as Chunk;
        const want = added.length > 0 || trailing;
        if (chunk.comma !== -1 && !want) this.#ms.remove(chunk.comma, chunk.comma + 1);
        if (chunk.comma === -1 && want) this.#ms.appendLeft(props[lastKept]?.end ?? 0, ',');
      }
      const lines = added
        .map(([k, v], i) => {
          const comma = i < added.length - 1 || trailing ? ',' : '';
          return `${entryIndent}${printKey(k, this.#style)}: ${printValue(v, this.#style, entryIndent, undefined, codeOf(k))}${comma}${this.#style.eol}`;
        })
        .join('');
      if (lines) this.#insert(new Map([[(chunks.at(-1) as Chunk).end, lines]]));
      return;
    }
    if (added.length === 0) return;
    const entries = added.map(
      ([k, v]) =>
        `${printKey(k, this.#style)}: ${printValue(v, this.#style, indent + this.#style.indentUnit, undefined, codeOf(k))}`,
    );
    if (lastKept === undefined) {
      // Nothing left to follow: the object is written again from its braces.
      const inner = entries.join(', ');
      this.#ms.overwrite(node.start ?? 0, node.end ?? 0, `{ ${inner} }`);
      return;
    }
    const last = props[lastKept] as Node;
    this.#ms.appendLeft(last.end ?? 0, entries.map((e) => `, ${e}`).join(''));
  }

  /** Removes property `i` with its lines (one per line) or with the comma that joins it. */
  #removeProperty(node: ObjectExpression, i: number, chunks: Chunk[] | null): void {
    const props = node.properties;
    const p = props[i] as Node;
    if (chunks !== null) {
      const chunk = chunks[i] as Chunk;
      this.#ms.remove(chunk.start, chunk.end);
      return;
    }
    const next = props[i + 1];
    if (next !== undefined) {
      this.#ms.remove(p.start ?? 0, next.start ?? 0);
      return;
    }
    const previous = props[i - 1];
    if (previous !== undefined) {
      this.#ms.remove(previous.end ?? 0, p.end ?? 0);
      return;
    }
    this.#ms.overwrite(node.start ?? 0, node.end ?? 0, '{}');
  }
}

function multiline(text: string, node: Node): boolean {
  return text.slice(node.start ?? 0, node.end ?? 0).includes('\n');
}

/** The longest common subsequence of two arrays, as pairs of indices `[inA, inB]`. */
function commonSubsequence(a: unknown[], b: unknown[]): Array<[number, number]> {
  const table = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      const row = table[i] as number[];
      row[j] = sameValue(a[i], b[j])
        ? ((table[i + 1] as number[])[j + 1] as number) + 1
        : Math.max((table[i + 1] as number[])[j] as number, row[j + 1] as number);
    }
  }
  const pairs: Array<[number, number]> = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (sameValue(a[i], b[j])) {
      pairs.push([i, j]);
      i++;
      j++;
    } else if (
      ((table[i + 1] as number[])[j] as number) >= ((table[i] as number[])[j + 1] as number)
    )
      i++;
    else j++;
  }
  return pairs;
}
