import type { Node, ObjectExpression } from '@babel/types';
import { isAgentCodeValue } from '@runtools/sdk/api';

/** How a file writes its code, so that a new value reads as if its author had typed it. */
export interface FileStyle {
  quote: "'" | '"';
  eol: '\n' | '\r\n';
  /** One level of indentation: two or four spaces, or a tab. */
  indentUnit: string;
  /** Whether multi-line arrays and objects end with a comma. */
  trailingComma: boolean;
}

/** Objects and arrays longer than this are written one entry per line. */
const maxLineLength = 80;

/** The style of `text`, read from its agent object (and the whole file where that says nothing). */
export function detectStyle(text: string, root: Node, object: ObjectExpression | null): FileStyle {
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  let single = 0;
  let double = 0;
  walk(root, (node) => {
    if (node.type !== 'StringLiteral') return;
    const raw = (node.extra as { raw?: string } | undefined)?.raw;
    if (raw?.startsWith("'")) single++;
    else if (raw?.startsWith('"')) double++;
  });
  let indentUnit = '  ';
  let trailingComma = true;
  if (object !== null && object.properties.length > 0) {
    const first = object.properties[0] as Node;
    const objectIndent = lineIndent(text, object.start ?? 0);
    const propIndent = lineIndent(text, first.start ?? 0);
    if (propIndent.startsWith(objectIndent) && propIndent.length > objectIndent.length) {
      indentUnit = propIndent.slice(objectIndent.length);
    } else if (propIndent.includes('\t')) indentUnit = '\t';
    trailingComma =
      (object.extra as { trailingComma?: number } | undefined)?.trailingComma !== undefined;
  } else if (/^\t/m.test(text)) indentUnit = '\t';
  return { quote: double > single ? '"' : "'", eol, indentUnit, trailingComma };
}

/** Calls `visit` on `node` and every node below it. */
function walk(node: Node, visit: (node: Node) => void): void {
  visit(node);
  for (const [key, child] of Object.entries(node)) {
    if (key === 'loc' || key === 'extra' || key.endsWith('Comments')) continue;
    if (Array.isArray(child)) {
      for (const c of child) if (c && typeof c.type === 'string') walk(c as Node, visit);
    } else if (child && typeof child === 'object' && typeof child.type === 'string') {
      walk(child as Node, visit);
    }
  }
}

/** The whitespace at the start of the line that holds `pos`. */
export function lineIndent(text: string, pos: number): string {
  const start = lineStart(text, pos);
  return /^[ \t]*/.exec(text.slice(start, pos))?.[0] ?? '';
}

export function lineStart(text: string, pos: number): number {
  return text.lastIndexOf('\n', pos - 1) + 1;
}

/** The offset just after the end of the line holding `pos` (after its `\n`), or the text's end. */
export function lineEnd(text: string, pos: number): number {
  const nl = text.indexOf('\n', pos);
  return nl === -1 ? text.length : nl + 1;
}

/** `s` as a quoted string literal: every character that could end it or change it is escaped. */
export function quoteString(s: string, quote: "'" | '"'): string {
  let out = quote;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i] as string;
    const code = s.charCodeAt(i);
    if (ch === '\\') out += '\\\\';
    else if (ch === quote) out += `\\${quote}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (code < 0x20 || code === 0x7f || code === 0x2028 || code === 0x2029)
      out += unicodeEscape(code);
    else if (code >= 0xd800 && code <= 0xdfff) {
      const next = s.charCodeAt(i + 1);
      if (code <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        out += s.slice(i, i + 2);
        i++;
      } else out += unicodeEscape(code);
    } else out += ch;
  }
  return out + quote;
}

/**
 * `s` as a template literal without substitutions: backticks, backslashes and `${` are escaped,
 * line breaks are the file's own (the value reads `\n` whatever the file's line endings are).
 */
export function templateString(s: string, eol: '\n' | '\r\n'): string {
  let out = '`';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i] as string;
    const code = s.charCodeAt(i);
    if (ch === '\\') out += '\\\\';
    else if (ch === '`') out += '\\`';
    else if (ch === '$' && s[i + 1] === '{') out += '\\$';
    else if (ch === '\n') out += eol;
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\t';
    else if (code < 0x20 || code === 0x7f || code === 0x2028 || code === 0x2029)
      out += unicodeEscape(code);
    else if (code >= 0xd800 && code <= 0xdfff) {
      const next = s.charCodeAt(i + 1);
      if (code <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        out += s.slice(i, i + 2);
        i++;
      } else out += unicodeEscape(code);
    } else out += ch;
  }
  return `${out}\``;
}

function unicodeEscape(code: number): string {
  return `\\u${code.toString(16).padStart(4, '0')}`;
}

/** A property key: bare when it is an identifier, quoted otherwise. */
export function printKey(key: string, style: FileStyle): string {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? key : quoteString(key, style.quote);
}

/** How a string should be written where `old` (the literal it replaces) was, if any. */
export function printString(s: string, style: FileStyle, old?: Node): string {
  if (s.includes('\n') || old?.type === 'TemplateLiteral') return templateString(s, style.eol);
  if (old?.type === 'StringLiteral') {
    const raw = (old.extra as { raw?: string } | undefined)?.raw;
    if (raw?.startsWith('"')) return quoteString(s, '"');
    if (raw?.startsWith("'")) return quoteString(s, "'");
  }
  return quoteString(s, style.quote);
}

/**
 * A JSON value as TypeScript source in `style`, for a line indented by `indent`: strings quoted
 * (a multi-line one as a template literal), arrays and objects on one line when short, else one
 * entry per line. With `code` (the workflow field, whose markers the caller checked came from
 * the file) a code marker is written as its source text; elsewhere a marker is refused.
 */
export function printValue(
  value: unknown,
  style: FileStyle,
  indent: string,
  old?: Node,
  code = false,
): string {
  if (isAgentCodeValue(value)) {
    if (!code) throw new TypeError('a code marker outside the workflow');
    return value.$code;
  }
  if (typeof value === 'string') return printString(value, style, old);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError('not a finite number');
    return Object.is(value, -0) ? '0' : String(value);
  }
  if (typeof value === 'boolean' || value === null) return String(value);
  const inner = indent + style.indentUnit;
  if (Array.isArray(value)) {
    const items = value.map((v) => printValue(v, style, inner, undefined, code));
    const line = `[${items.join(', ')}]`;
    if (!items.some((i) => i.includes('\n')) && indent.length + line.length <= maxLineLength)
      return line;
    return multiline('[', ']', items, style, indent);
  }
  if (typeof value === 'object' && value !== undefined) {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 0) return '{}';
    const items = entries.map(
      ([k, v]) => `${printKey(k, style)}: ${printValue(v, style, inner, undefined, code)}`,
    );
    const line = `{ ${items.join(', ')} }`;
    if (!items.some((i) => i.includes('\n')) && indent.length + line.length <= maxLineLength)
      return line;
    return multiline('{', '}', items, style, indent);
  }
  throw new TypeError(`cannot write a ${typeof value} as a literal`);
}

function multiline(
  open: string,
  close: string,
  items: string[],
  style: FileStyle,
  indent: string,
): string {
  const inner = indent + style.indentUnit;
  const body = items
    .map((item, i) => `${inner}${item}${i < items.length - 1 || style.trailingComma ? ',' : ''}`)
    .join(style.eol);
  return `${open}${style.eol}${body}${style.eol}${indent}${close}`;
}
