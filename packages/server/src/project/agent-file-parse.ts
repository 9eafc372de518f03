import { parse } from '@babel/parser';
import type {
  Expression,
  File,
  Node,
  ObjectExpression,
  Statement,
  VariableDeclarator,
} from '@babel/types';

/** Where a parse failed, 1-based line and column. */
export interface ParseProblem {
  message: string;
  line: number;
  column: number;
}

/** An agent file, parsed: the object literal that defines the agent, and what it names. */
export interface ParsedAgentFile {
  text: string;
  ast: File;
  /** The `{ … }` given to `defineAgent` (or exported `satisfies AgentDefinition`); null when none is found. */
  object: ObjectExpression | null;
  /** Why no object was found. */
  notFound?: string;
  /** Local names imported from relative paths: name → the specifier (`./prompts.ts`). */
  imports: Map<string, string>;
  /** Top-level `const`/`let` declarations by name, for reporting what a field refers to. */
  variables: Map<string, VariableDeclarator>;
}

/** An agent file that does not parse (`parseAgentFile`'s failure). */
export class AgentFileParseError extends Error {
  readonly problem: ParseProblem;
  constructor(problem: ParseProblem) {
    super(`${problem.message} (line ${problem.line}, column ${problem.column})`);
    this.name = 'AgentFileParseError';
    this.problem = problem;
  }
}

/**
 * Parses an agent file with Babel's TypeScript parser (positions in UTF-16 units of `text`, a
 * BOM included) and finds the agent's object literal: `export default defineAgent({ … })`,
 * `export default { … } satisfies AgentDefinition` (or `as const`, `as AgentDefinitionInput`),
 * and either of those through a top-level `const agent = …; export default agent`.
 * A syntax error throws `AgentFileParseError`.
 */
export function parseAgentFile(text: string): ParsedAgentFile {
  let ast: File;
  try {
    ast = parse(text, {
      sourceType: 'module',
      plugins: ['typescript'],
      // Positions of the original text: `(x)` stays part of its expression.
      createParenthesizedExpressions: false,
    });
  } catch (error) {
    const e = error as Error & { loc?: { line: number; column: number } };
    throw new AgentFileParseError({
      message: e.message.replace(/\s*\(\d+:\d+\)$/, ''),
      line: e.loc?.line ?? 1,
      column: (e.loc?.column ?? 0) + 1,
    });
  }
  const imports = new Map<string, string>();
  const variables = new Map<string, VariableDeclarator>();
  for (const statement of ast.program.body) {
    if (statement.type === 'ImportDeclaration' && /^\.{1,2}\//.test(statement.source.value)) {
      for (const s of statement.specifiers) imports.set(s.local.name, statement.source.value);
    }
    const declaration = declarationOf(statement);
    if (declaration?.type === 'VariableDeclaration') {
      for (const d of declaration.declarations) {
        if (d.id.type === 'Identifier') variables.set(d.id.name, d);
      }
    }
  }
  const exported = defaultExport(ast.program.body);
  if (exported === undefined) {
    return {
      text,
      ast,
      object: null,
      notFound: 'the file has no default export',
      imports,
      variables,
    };
  }
  const object = agentObject(exported, variables, 0);
  if (object === null) {
    return {
      text,
      ast,
      object: null,
      notFound:
        'the default export is not defineAgent({ … }) or an object literal; the builder edits only those',
      imports,
      variables,
    };
  }
  return { text, ast, object, imports, variables };
}

function declarationOf(statement: Statement): Node | null | undefined {
  if (statement.type === 'ExportNamedDeclaration') return statement.declaration;
  return statement;
}

function defaultExport(body: Statement[]): Expression | undefined {
  for (const statement of body) {
    if (statement.type !== 'ExportDefaultDeclaration') continue;
    const d = statement.declaration;
    if (d.type.endsWith('Declaration')) return undefined;
    return d as Expression;
  }
  return undefined;
}

/** `x as const`, `x satisfies T`, `x!`, `<T>x` → x. */
export function unwrap(node: Expression): Expression {
  let n = node;
  while (
    n.type === 'TSAsExpression' ||
    n.type === 'TSSatisfiesExpression' ||
    n.type === 'TSNonNullExpression' ||
    n.type === 'TSTypeAssertion' ||
    n.type === 'ParenthesizedExpression'
  ) {
    n = n.expression;
  }
  return n;
}

function agentObject(
  node: Expression,
  variables: Map<string, VariableDeclarator>,
  depth: number,
): ObjectExpression | null {
  if (depth > 4) return null;
  const n = unwrap(node);
  if (n.type === 'ObjectExpression') return n;
  if (n.type === 'CallExpression' && n.callee.type === 'Identifier' && n.arguments.length === 1) {
    if (n.callee.name !== 'defineAgent') return null;
    const arg = n.arguments[0];
    if (arg === undefined || arg.type === 'SpreadElement' || arg.type === 'ArgumentPlaceholder')
      return null;
    return agentObject(arg as Expression, variables, depth + 1);
  }
  if (n.type === 'Identifier') {
    const init = variables.get(n.name)?.init;
    return init ? agentObject(init, variables, depth + 1) : null;
  }
  return null;
}
