// `virtform check` reports the program's files only: virtform's own layers (core/ and images/ too,
// which the SDK imports) are not the program's.
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { ownFiles } from "../../review/typecheck.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
const file = (path: string) => ({ fileName: `${root}${path}`, isDeclarationFile: false });

describe("ownFiles", () => {
  it("keeps the program's files and leaves out every layer the SDK pulls in", () => {
    const files = ["examples/java-appserver/infra.ts", "sdk/index.ts", "core/model.ts", "images/lockfile.ts", "durable/write-file-atomic.ts", "engine/plan.ts"].map(file);
    expect(ownFiles(files).map((f) => f.fileName)).toEqual([`${root}examples/java-appserver/infra.ts`]);
  });
});
