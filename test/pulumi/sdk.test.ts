// The Pulumi schema and SDK are generated (npm run gen:pulumi): the checked-in files must be what the
// generator makes from today's kinds, and the SDK's types must catch an undeclared image variant.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { staleFiles } from "../../provider/pulumi/generate.ts";
import { repoRoot } from "../helpers/cli.ts";

const fixture = join(repoRoot, "test/fixtures/type-errors/pulumi-sdk.ts");

describe("Pulumi schema and SDK", () => {
  it("are up to date with the kinds (run npm run gen:pulumi)", () => {
    expect(staleFiles()).toEqual([]);
  });

  it("has one token per kind with secrets, replace-on-changes, defaults and required fields", () => {
    const schema = JSON.parse(readFileSync(join(repoRoot, "provider/pulumi/schema.json"), "utf8"));
    expect(Object.keys(schema.resources).sort()).toEqual([
      "virtform:compute:Cluster",
      "virtform:compute:Instance",
      "virtform:images:Image",
      "virtform:storage:Attachment",
      "virtform:storage:Snapshot",
      "virtform:storage:StoragePool",
      "virtform:storage:Volume",
    ]);
    const instance = schema.resources["virtform:compute:Instance"];
    expect(instance.inputProperties.userData).toMatchObject({ type: "string", secret: true, willReplaceOnChanges: true });
    expect(instance.inputProperties.vcpu.willReplaceOnChanges).toBeUndefined();
    expect(instance.inputProperties.powerState).toMatchObject({ default: "running", $ref: "#/types/virtform:compute:InstancePowerState" });
    expect(instance.requiredInputs).toEqual(["cluster", "group", "index", "image", "vcpu", "memoryGiB"]);
    expect(instance.properties.host.description).toBe("Id of the host the instance is placed on");
    expect(schema.types["virtform:compute:ClusterHosts"].required).toEqual(["count", "vcpu", "memoryGiB", "localDiskGiB"]);
    expect(schema.config.variables.token.secret).toBe(true);
  });

  it("reports exactly the marked lines of the fixture as type errors", () => {
    const config = ts.getParsedCommandLineOfConfigFile(join(repoRoot, "tsconfig.json"), {}, {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, "\n"));
      },
    })!;
    const program = ts.createProgram([fixture], config.options);
    const errors = new Map<number, string>();
    // Only the fixture's own diagnostics: checking every file the program reaches would take seconds.
    const source = program.getSourceFile(fixture)!;
    for (const d of [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)]) {
      errors.set(d.file!.getLineAndCharacterOfPosition(d.start!).line + 1, ts.flattenDiagnosticMessageText(d.messageText, " "));
    }
    const marked = readFileSync(fixture, "utf8")
      .split("\n")
      .flatMap((text, i) => (text.includes("// ERROR") ? [i + 1] : []));
    expect([...errors.keys()].sort((a, b) => a - b)).toEqual(marked);
    expect(errors.get(marked[0]!)).toContain(`Argument of type '"hevy"' is not assignable to parameter of type '"light" | "heavy"'`);
    expect(errors.get(marked[3]!)).toContain("Type 'Output<string>' is not assignable to type 'string'");
  });
});
