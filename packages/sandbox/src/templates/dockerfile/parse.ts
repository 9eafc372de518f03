import { SandboxError } from '../../errors.ts';
import { copyFromFlag } from './bases.ts';
import { isImageReference, validate } from './validate.ts';

/** Parsing a Dockerfile into instructions (typed `template_invalid` errors with line numbers). */

export interface DockerfileInstruction {
  /** 1-based line where the instruction starts. */
  line: number;
  /** Upper case: `RUN`, `COPY`, ... */
  keyword: string;
  /** The arguments as written, continuation lines joined (like Docker's parser does). */
  args: string;
}

export const INSTRUCTIONS = new Set([
  'FROM',
  'RUN',
  'CMD',
  'LABEL',
  'MAINTAINER',
  'EXPOSE',
  'ENV',
  'ADD',
  'COPY',
  'ENTRYPOINT',
  'VOLUME',
  'USER',
  'WORKDIR',
  'ARG',
  'ONBUILD',
  'STOPSIGNAL',
  'HEALTHCHECK',
  'SHELL',
]);

// ---------------------------------------------------------------------------------------------
// Parsing

export interface Stage {
  /** Index of the FROM instruction in `instructions`. */
  index: number;
  line: number;
  /** `--platform=...` and the like, as written. */
  flags: string[];
  /** The base after ARG substitution. */
  image: string;
  alias?: string;
  /** Index in `stages` of the earlier stage this one is built on (`FROM <stage name>`). */
  stage?: number;
}

export interface ParsedDockerfile {
  escape: string;
  instructions: DockerfileInstruction[];
  stages: Stage[];
  /** Images the build needs, neither scratch nor a stage: FROM bases and `COPY --from=<image>`. */
  bases: Array<{ name: string; line: number }>;
}

export function invalid(line: number, what: string): SandboxError {
  return new SandboxError('template_invalid', `Invalid Dockerfile, line ${line}: ${what}`, {
    details: { line, reason: what },
  });
}

/** Parses FROM lines (first stage and multi-stage) without building: for content hashing and validation. Throws a typed error for a syntax error. */
export function parseDockerfile(text: string): {
  /** The image of every FROM, in order, after ARG defaults (`scratch` and stage names included). */
  from: string[];
  /** The images the build uses, deduplicated: FROM bases and `COPY --from=<image>`, without `scratch` and stage names. */
  bases: string[];
  instructions: DockerfileInstruction[];
} {
  const parsed = parse(text);
  return {
    from: parsed.stages.map((s) => s.image),
    bases: [...new Set(parsed.bases.map((b) => b.name))],
    instructions: parsed.instructions,
  };
}

export function parse(text: string): ParsedDockerfile {
  const lines = text.split(/\r\n|\n|\r/);
  let escapeChar = '\\';
  let i = 0;
  // Parser directives (`# escape=`` ` ``, `# syntax=...`) come first, before anything else.
  for (; i < lines.length; i++) {
    const m = /^\s*#\s*([a-zA-Z]+)\s*=\s*(\S*)\s*$/.exec(lines[i] as string);
    const name = m?.[1]?.toLowerCase();
    if (!m || !name || !['escape', 'syntax', 'check'].includes(name)) break;
    if (name === 'escape') {
      if (m[2] !== '\\' && m[2] !== '`') {
        throw invalid(i + 1, `the escape directive must be \\ or \` (got "${m[2]}")`);
      }
      escapeChar = m[2];
    }
  }
  const continuation = new RegExp(`${escapeChar === '\\' ? '\\\\' : '`'}[ \\t]*$`);
  const instructions: DockerfileInstruction[] = [];
  let current: { line: number; text: string } | undefined;
  for (; i < lines.length; i++) {
    const raw = lines[i] as string;
    const trimmed = raw.trim();
    // Blank and comment lines are dropped, also between continuation lines (as Docker does).
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const cont = continuation.exec(raw);
    const body = cont ? raw.slice(0, cont.index) : raw;
    if (current) current.text += body;
    else current = { line: i + 1, text: body.trimStart() };
    if (cont) continue;
    instructions.push(toInstruction(current.line, current.text, instructions.at(-1)));
    current = undefined;
  }
  if (current) {
    throw invalid(
      current.line,
      `line continuation (${escapeChar}) at the end of the file: the instruction starting here never ends`,
    );
  }
  const stages = validate(instructions);
  const bases: ParsedDockerfile['bases'] = [];
  for (const stage of stages) {
    if (stage.image !== 'scratch' && stage.stage === undefined) {
      bases.push({ name: stage.image, line: stage.line });
    }
  }
  const aliases = new Set(stages.flatMap((st) => (st.alias ? [st.alias] : [])));
  for (const ins of instructions) {
    const from = ins.keyword === 'COPY' ? copyFromFlag(ins.args) : undefined;
    if (from === undefined || /^\d+$/.test(from) || aliases.has(from.toLowerCase())) continue;
    if (!isImageReference(from)) {
      throw invalid(ins.line, `COPY --from=${from} names neither a build stage nor an image`);
    }
    bases.push({ name: from, line: ins.line });
  }
  return { escape: escapeChar, instructions, stages, bases };
}

export function toInstruction(
  line: number,
  text: string,
  previous: DockerfileInstruction | undefined,
): DockerfileInstruction {
  const m = /^(\S*)\s*([\s\S]*)$/.exec(text.trim()) as RegExpExecArray;
  const word = m[1] as string;
  const args = (m[2] as string).trim();
  if (!word) throw invalid(line, 'empty instruction');
  const keyword = word.toUpperCase();
  if (!INSTRUCTIONS.has(keyword)) {
    const hint =
      previous?.keyword === 'RUN' && previous.line === line - 1
        ? ` (is a line continuation "\\" missing at the end of line ${line - 1}?)`
        : '';
    throw invalid(
      line,
      `unknown instruction "${word}"${hint}. Known instructions: ${[...INSTRUCTIONS].join(', ')}`,
    );
  }
  if (!args) throw invalid(line, `${keyword} has no arguments (empty instruction)`);
  // Checked here, before the heredoc's body lines are taken for unknown instructions.
  if (
    ['RUN', 'COPY', 'ADD'].includes(keyword) &&
    /(?:^|\s)<<-?(["']?)[A-Za-z_][A-Za-z0-9_]*\1(?=\s|$)/.test(args)
  ) {
    throw invalid(
      line,
      `${keyword} with a heredoc (<<EOF) is not supported by this builder (buildah 1.28): ` +
        'join the commands with && or COPY a script from the build context',
    );
  }
  return { line, keyword, args };
}

/** `ARG a`, `ARG a=1`, `ARG a="x y" b=2`: names and default values. */
export function parseArgDeclarations(
  line: number,
  args: string,
): Array<[string, string | undefined]> {
  const out: Array<[string, string | undefined]> = [];
  const re = /([A-Za-z_][A-Za-z0-9_]*)(?:=("(?:[^"\\]|\\.)*"|'[^']*'|\S*))?(?:\s+|$)/y;
  let pos = 0;
  while (pos < args.length) {
    re.lastIndex = pos;
    const m = re.exec(args);
    if (!m || m[0] === '') throw invalid(line, `invalid ARG declaration "${args}"`);
    const value = m[2];
    out.push([
      m[1] as string,
      value === undefined
        ? undefined
        : /^(["']).*\1$/s.test(value)
          ? value.slice(1, -1).replace(/\\(.)/g, '$1')
          : value,
    ]);
    pos = re.lastIndex;
  }
  return out;
}

/** Applies the defaults of ARGs declared before the first FROM to a FROM image. */
export function substituteArgs(
  line: number,
  word: string,
  args: Map<string, string | undefined>,
): string {
  const out = word.replace(
    /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::([-+])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (_all, braced: string | undefined, op: string | undefined, alt: string, bare: string) => {
      const name = (braced ?? bare) as string;
      const value = args.get(name);
      if (op === '-') return value ? value : alt;
      if (op === '+') return value ? alt : '';
      if (value === undefined) {
        throw invalid(
          line,
          `FROM uses $${name}, which has no default: declare "ARG ${name}=<value>" before the first FROM (build arguments cannot be passed)`,
        );
      }
      return value;
    },
  );
  if (!out) throw invalid(line, `FROM ${word} names no image once ARG defaults are applied`);
  return out;
}
