// The DSL's types catch mistakes before anything runs: an unknown variant name, reading an Output
// as a plain value, a wrong field type. The fixture's lines marked "// ERROR" must each fail to
// compile, and no other line may.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../helpers/cli.ts";

const fixture = join(repoRoot, "test/fixtures/type-errors/unknown-variant.ts");

describe("DSL types", () => {
  it("reports exactly the marked lines as errors", () => {
    const config = ts.getParsedCommandLineOfConfigFile(join(repoRoot, "tsconfig.json"), {}, {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, "\n"));
      },
    })!;
    const program = ts.createProgram([fixture], config.options);
    const diagnostics = ts.getPreEmitDiagnostics(program).filter((d) => d.file?.fileName === fixture);
    const errorLines = new Map<number, string>();
    for (const d of diagnostics) {
      const line = d.file!.getLineAndCharacterOfPosition(d.start!).line + 1;
      errorLines.set(line, ts.flattenDiagnosticMessageText(d.messageText, " "));
    }
    const marked = readFileSync(fixture, "utf8")
      .split("\n")
      .flatMap((text, i) => (text.includes("// ERROR") ? [i + 1] : []));
    expect([...errorLines.keys()].sort((a, b) => a - b)).toEqual(marked);
    const variantLine = marked[0]!;
    expect(errorLines.get(variantLine)).toContain(`Argument of type '"hevy"' is not assignable to parameter of type '"light" | "heavy"'`);
    expect(errorLines.get(marked[1]!)).toContain("Type 'Output<string>' is not assignable to type 'string'");
  });
});
