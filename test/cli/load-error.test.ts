// How a program's load failure is said: errors shaped as Node and tsx raise them (the CLI tests in
// hostile-programs.test.ts raise the real ones), each to one line a user can act on, no frames.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadError } from "../../cli/load-error.ts";

const file = join(process.cwd(), "infra.ts");
const nodeError = (name: string, message: string, stack: string, code?: string) =>
  Object.assign(new Error(message), { name, stack, ...(code ? { code } : {}) });

const cases = [
  {
    name: "Node's type stripping: a TypeScript syntax error",
    err: nodeError(
      "SyntaxError",
      "Expression expected",
      `${file}:4\nexport default stack("x", (s) => {\n  const a = ;\n            ^\n});\n\nSyntaxError [ERR_INVALID_TYPESCRIPT_SYNTAX]: Expression expected\n    at parseTypeScript (node:internal/modules/typescript:72:36)`,
      "ERR_INVALID_TYPESCRIPT_SYNTAX",
    ),
    expected: "program infra.ts has a syntax error:\n  infra.ts:4:13: Expression expected\n      const a = ;\n                ^",
  },
  {
    name: "V8: a missing export, with a file URL",
    err: nodeError(
      "SyntaxError",
      "The requested module 'virtform' does not provide an export named 'nope'",
      `file://${file}:1\nimport { nope } from "virtform";\n         ^^^^\nSyntaxError: The requested module 'virtform' does not provide an export named 'nope'\n    at ModuleJob._instantiate (node:internal/modules/esm/module_job:213:21)`,
    ),
    expected: "infra.ts:1:10: The requested module 'virtform' does not provide an export named 'nope'",
  },
  {
    name: "tsx: a module that cannot be found",
    err: nodeError("Error", `Cannot find module './sizes'\nRequire stack:\n- ${file}`, "Error: Cannot find module './sizes'\n    at Module._resolveFilename (node:internal/modules/cjs/loader:1225:15)", "MODULE_NOT_FOUND"),
    expected: "program infra.ts failed to load: Cannot find module './sizes'",
    exact: true,
  },
  {
    name: "top-level code that throws: its line, not its frames",
    err: nodeError("RangeError", "too big", `RangeError: too big\n    at file://${file}:7:9\n    at ModuleJob.run (node:internal/modules/esm/module_job:561:25)`),
    expected: "program infra.ts failed to load: infra.ts:7: the program threw: RangeError: too big",
  },
];

describe("loadError", () => {
  it.each(cases)("$name", ({ err, expected, exact }) => {
    const message = loadError("infra.ts", err).message;
    if (exact) expect(message).toBe(expected);
    else expect(message).toContain(expected);
    expect(message).not.toMatch(/^\s+at /m);
  });
});
