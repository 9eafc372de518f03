import {
  type DockerfileInstruction,
  INSTRUCTIONS,
  invalid,
  parseArgDeclarations,
  type Stage,
  substituteArgs,
} from './parse.ts';

/** Checking parsed instructions: stages, FROM references, what RunTools supports. */

export function validate(instructions: DockerfileInstruction[]): Stage[] {
  const stages: Stage[] = [];
  const globalArgs = new Map<string, string | undefined>();
  const aliases = new Set<string>();
  if (!instructions.some((ins) => ins.keyword === 'FROM')) {
    const first = instructions.find((ins) => ins.keyword !== 'ARG');
    throw invalid(
      first?.line ?? instructions[0]?.line ?? 1,
      instructions.length
        ? 'missing FROM: a Dockerfile must start with FROM (e.g. "FROM debian-13" or "FROM scratch")'
        : 'the Dockerfile is empty: it must start with FROM (e.g. "FROM debian-13")',
    );
  }
  instructions.forEach((ins, index) => {
    const { line, keyword, args } = ins;
    if (!stages.length && keyword !== 'FROM') {
      if (keyword !== 'ARG') {
        throw invalid(line, `${keyword} before FROM: only ARG may come before the first FROM`);
      }
      for (const [name, value] of parseArgDeclarations(line, args)) globalArgs.set(name, value);
      return;
    }
    if (keyword === 'FROM') {
      const tokens = args.split(/\s+/);
      const flags: string[] = [];
      while (tokens[0]?.startsWith('--')) {
        const flag = tokens.shift() as string;
        if (!/^--platform=\S+$/.test(flag)) throw invalid(line, `FROM does not accept ${flag}`);
        flags.push(flag);
      }
      const [written, as, alias, ...rest] = tokens;
      if (!written || rest.length || (as !== undefined && (as.toLowerCase() !== 'as' || !alias))) {
        throw invalid(
          line,
          'FROM takes an image and optionally "AS <name>": FROM <image> [AS <name>]',
        );
      }
      const image = substituteArgs(line, written, globalArgs);
      const ref = aliases.has(image.toLowerCase())
        ? stages.findIndex((st) => st.alias === image.toLowerCase())
        : undefined;
      if (image.toLowerCase() !== 'scratch' && ref === undefined && !isImageReference(image)) {
        throw invalid(line, `"${image}" is not a valid image or template name`);
      }
      if (alias !== undefined) {
        if (!/^[a-zA-Z][a-zA-Z0-9_.-]*$/.test(alias)) {
          throw invalid(line, `invalid stage name "${alias}" (letters, digits, "_", "." and "-")`);
        }
        if (aliases.has(alias.toLowerCase())) {
          throw invalid(line, `the stage name "${alias}" is used twice`);
        }
        aliases.add(alias.toLowerCase());
      }
      stages.push({
        index,
        line,
        flags,
        image: image.toLowerCase() === 'scratch' ? 'scratch' : image,
        ...(alias ? { alias: alias.toLowerCase() } : {}),
        ...(ref !== undefined ? { stage: ref } : {}),
      });
      return;
    }
    if (keyword === 'ONBUILD') {
      const inner = (args.split(/\s+/)[0] ?? '').toUpperCase();
      if (!INSTRUCTIONS.has(inner) || ['ONBUILD', 'FROM', 'MAINTAINER'].includes(inner)) {
        throw invalid(line, `ONBUILD cannot run "${inner}"`);
      }
    }
  });
  return stages;
}

export const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';

export const REFERENCE = new RegExp(
  `^(?:([a-zA-Z0-9.-]+(?::[0-9]+)?)/)?(${PATH_COMPONENT}(?:/${PATH_COMPONENT})*)(?::([\\w][\\w.-]{0,127}))?(?:@([a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-fA-F0-9]{32,}))?$`,
);

export function isImageReference(name: string): boolean {
  return REFERENCE.test(name) && name.length <= 255;
}

/** Docker's reading of an image name: `alpine` is `docker.io/library/alpine:latest`. */
export function normalizeReference(name: string): { ref: string; host: string } {
  const m = REFERENCE.exec(name);
  if (!m) return { ref: name, host: 'docker.io' };
  const first = m[1];
  const tag = m[3];
  const digest = m[4];
  let path = m[2] as string;
  let host = 'docker.io';
  if (first && (first.includes('.') || first.includes(':') || first === 'localhost')) {
    host = first;
  } else if (first) {
    path = `${first}/${path}`;
  }
  if (host === 'docker.io' && !path.includes('/')) path = `library/${path}`;
  const suffix = `${tag ? `:${tag}` : digest ? '' : ':latest'}${digest ? `@${digest}` : ''}`;
  return { ref: `${host}/${path}${suffix}`, host };
}

// ---------------------------------------------------------------------------------------------
// Building
