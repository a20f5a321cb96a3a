/**
 * The TypeScript snippets of docs/writing-a-method.md are checked here, so the guide cannot drift from the code:
 *
 * - a ```ts block whose first line is `// examples/bitfit/src/<file>.ts` is an excerpt: its other lines must appear,
 *   contiguous and verbatim, in that file (which the repository's type check compiles and its tests run);
 * - every other ```ts block must compile on its own as a module (written to a temporary folder inside
 *   examples/bitfit, so it resolves packages as that package does; strict options of tsconfig.base.json).
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const GUIDE = 'docs/writing-a-method.md';
/** Where standalone snippets are compiled: inside the example package, outside its `src` (not type-checked by the repo). */
const SNIPPET_PARENT = join(ROOT, 'examples', 'bitfit');
const EXCERPT_RE = /^\/\/ (examples\/bitfit\/src\/[\w./-]+\.ts)$/;

/** A fenced code block of a markdown file. */
export interface Snippet {
  readonly lang: string;
  readonly code: string;
  /** 1-based line of the block's first code line in the markdown file. */
  readonly line: number;
}

/** Every fenced code block (```lang … ```) of a markdown text. */
export function extractSnippets(markdown: string): Snippet[] {
  const out: Snippet[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w*)/.exec(lines[i]!);
    if (!open) continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && !/^```\s*$/.test(lines[end]!)) end++;
    if (end >= lines.length) throw new Error(`${GUIDE}:${i + 1}: unclosed code block`);
    out.push({ lang: open[1]!, code: lines.slice(start, end).join('\n'), line: start + 1 });
    i = end;
  }
  return out;
}

/** Problems of an excerpt snippet: its lines (after the source comment) are not found contiguously in the file. */
export function excerptProblems(snippet: Snippet, file: string, source: string): string[] {
  const body = snippet.code.split('\n').slice(1).map((l) => l.trimEnd());
  while (body.length > 0 && body[body.length - 1] === '') body.pop();
  if (body.length === 0) return [`${GUIDE}:${snippet.line}: excerpt of ${file} is empty`];
  const lines = source.split('\n').map((l) => l.trimEnd());
  for (let i = 0; i + body.length <= lines.length; i++) {
    if (body.every((l, j) => lines[i + j] === l)) return [];
  }
  return [`${GUIDE}:${snippet.line}: the excerpt is not a verbatim part of ${file} (first line: '${body[0]}')`];
}

/** Compile standalone snippets, each as its own module; returns the diagnostics, located in the guide. */
export function compileSnippets(snippets: readonly Snippet[], parentDir: string = SNIPPET_PARENT): string[] {
  const dir = join(parentDir, `.doc-snippets-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  try {
    const files = snippets.map((s) => {
      const path = join(dir, `snippet-line-${s.line}.ts`);
      writeFileSync(path, `${s.code}\nexport {};\n`);
      return { path, snippet: s };
    });
    const base = ts.readConfigFile(join(ROOT, 'tsconfig.base.json'), (p) => ts.sys.readFile(p));
    const { options } = ts.parseJsonConfigFileContent(base.config, ts.sys, ROOT);
    const program = ts.createProgram(
      files.map((f) => f.path),
      { ...options, noEmit: true },
    );
    const byPath = new Map(files.map((f) => [ts.sys.resolvePath(f.path), f.snippet]));
    const out: string[] = [];
    for (const d of ts.getPreEmitDiagnostics(program)) {
      const message = ts.flattenDiagnosticMessageText(d.messageText, '\n');
      const snippet = d.file ? byPath.get(ts.sys.resolvePath(d.file.fileName)) : undefined;
      if (!d.file || !snippet) {
        out.push(`${d.file?.fileName ?? 'global'}: ${message}`);
        continue;
      }
      const { line } = d.file.getLineAndCharacterOfPosition(d.start ?? 0);
      out.push(`${GUIDE}:${snippet.line + line}: ${message}`);
    }
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe(`${GUIDE} snippets`, () => {
  const snippets = extractSnippets(readFileSync(join(ROOT, GUIDE), 'utf8')).filter((s) => s.lang === 'ts');
  const excerpts = snippets.filter((s) => EXCERPT_RE.test(s.code.split('\n')[0]!));
  const standalone = snippets.filter((s) => !excerpts.includes(s));

  it('has excerpts and standalone snippets', () => {
    expect(excerpts.length).toBeGreaterThanOrEqual(5);
    expect(standalone.length).toBeGreaterThanOrEqual(2);
  });

  it('excerpts are verbatim parts of the example', () => {
    const problems = excerpts.flatMap((s) => {
      const file = EXCERPT_RE.exec(s.code.split('\n')[0]!)![1]!;
      return excerptProblems(s, file, readFileSync(join(ROOT, file), 'utf8'));
    });
    expect(problems).toEqual([]);
  });

  it('standalone snippets compile', () => {
    expect(compileSnippets(standalone)).toEqual([]);
  });

  it('reports snippets that do not compile or drifted, at their line in the guide', () => {
    const broken: Snippet = { lang: 'ts', code: "import { bitfit } from '@acme/adapterkit-bitfit';\nconst n: number = bitfit.name;", line: 40 };
    const errors = compileSnippets([broken]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^docs\/writing-a-method\.md:41: Type '.+' is not assignable to type 'number'/);
    const drifted: Snippet = { lang: 'ts', code: '// examples/bitfit/src/config.ts\nexport const BITFIT = 1;', line: 7 };
    expect(excerptProblems(drifted, 'examples/bitfit/src/config.ts', "export const BITFIT = 'acme/bitfit';")).toHaveLength(1);
  });
});
