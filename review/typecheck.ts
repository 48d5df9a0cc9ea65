// `virtform check`'s first half: type-checks a program the way tsc would, with compiler options
// virtform supplies, so that a program needs no tsconfig of its own. `virtform` (and
// `virtform/pulumi`) resolve to this SDK, as they do when the program runs.
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { Project, ts } from "ts-morph";

const virtformRoot = fileURLToPath(new URL("..", import.meta.url));
/** virtform's own folders: diagnostics inside them are not the program's. */
const ownDirs = ["core", "images", "durable", "sdk", "engine", "operations", "emulator", "provider", "cli", "review", "node_modules"].map((d) => join(virtformRoot, d) + sep);

export interface TypeDiagnostic {
  file?: string;
  line?: number;
  column?: number;
  severity: "error" | "warning";
  code: string;
  message: string;
}

/** The options `virtform check` type-checks with (and `virtform init` writes, minus the paths). */
export const CHECK_COMPILER_OPTIONS = {
  target: "ES2023",
  module: "NodeNext",
  moduleResolution: "NodeNext",
  strict: true,
  noEmit: true,
  skipLibCheck: true,
  allowImportingTsExtensions: true,
  verbatimModuleSyntax: true,
  types: ["node"],
} as const;

/** A ts-morph Project holding the program and what it imports, with virtform's compiler options. */
export function programProject(programPath: string, cwd = process.cwd()): Project {
  const file = resolve(cwd, programPath);
  const { options, errors } = ts.convertCompilerOptionsFromJson(
    {
      ...CHECK_COMPILER_OPTIONS,
      typeRoots: [join(virtformRoot, "node_modules", "@types")],
      paths: { virtform: [join(virtformRoot, "sdk", "index.ts")], "virtform/pulumi": [join(virtformRoot, "sdk", "pulumi", "index.ts")] },
    },
    dirname(file),
  );
  if (errors.length > 0) throw new Error(`virtform's own compiler options are invalid (a bug): ${ts.flattenDiagnosticMessageText(errors[0]!.messageText, " ")}`);
  // ts-morph's Project supplies TypeScript's lib files (its bundled compiler keeps them in memory).
  const project = new Project({ compilerOptions: options, skipAddingFilesFromTsConfig: true });
  project.addSourceFileAtPath(file);
  project.resolveSourceFileDependencies();
  return project;
}

/** The program's own files in a project (not virtform's, not declaration files). */
export function ownFiles<F extends { fileName: string; isDeclarationFile: boolean }>(files: readonly F[]): F[] {
  return files.filter((f) => !f.isDeclarationFile && !ownDirs.some((dir) => f.fileName.startsWith(dir)));
}

export function typeCheck(programPath: string, cwd = process.cwd(), project = programProject(programPath, cwd)): TypeDiagnostic[] {
  const program = project.getProgram().compilerObject;
  // Only the program's own files are checked: virtform's sources (and zod's types) are not the
  // user's to fix, and checking them would be most of the time.
  const own = ownFiles(program.getSourceFiles());
  return [
    ...program.getOptionsDiagnostics(),
    ...program.getGlobalDiagnostics(),
    ...own.flatMap((f) => [...program.getSyntacticDiagnostics(f), ...program.getSemanticDiagnostics(f)]),
  ]
    .map((d) => {
      const where = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start) : undefined;
      return {
        ...(d.file ? { file: relative(cwd, d.file.fileName) || d.file.fileName } : {}),
        ...(where ? { line: where.line + 1, column: where.character + 1 } : {}),
        severity: d.category === ts.DiagnosticCategory.Error ? ("error" as const) : ("warning" as const),
        code: `TS${d.code}`,
        message: ts.flattenDiagnosticMessageText(d.messageText, "\n  "),
      };
    });
}
