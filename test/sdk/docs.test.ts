// The generated reference and the README's route list stay in step with the code they describe.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { COLLECTIONS } from "../../emulator/http/collections.ts";
import { openApiDocument } from "../../emulator/http/openapi.ts";
import { kindList } from "../../sdk/kinds/index.ts";
import { kindReference } from "../../sdk/kinds/reference.ts";

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), "utf8");

describe("docs/kinds.md", () => {
  it("is what `npm run docs` generates from the schemas now (run it after changing a kind)", () => {
    expect(read("docs/kinds.md"), "docs/kinds.md is out of date: run npm run docs").toBe(kindReference());
  });

  it("lists every input field of every kind with its change behaviour, and marks the secret ones", () => {
    const text = kindReference();
    for (const kind of kindList) {
      expect(text).toContain(`## ${kind.name}\n`);
      for (const field of Object.keys(kind.inputs.shape)) {
        expect(text).toMatch(new RegExp(`\\| \`${field}\` \\| [^\\n]* \\| (yes|no) \\| [^|]* \\| ${kind.changeBehaviour(field)} \\|`));
      }
    }
    expect(text).toMatch(/\| `userData` \| string \| no \| {2}\| replace \| yes \|/);
    expect(text).toMatch(/\| `overcommit` \| number ≥ 1, ≤ 20 \| no \| `1` \| in-place \|/);
    expect(text).toMatch(/\| `devices\[\]\.sizeGiB` \| number ≥ 1\/1024, ≤ 1048576 \| yes \|/);
  });
});

describe("README", () => {
  it("lists every route of the OpenAPI document", () => {
    const readme = read("README.md");
    const collections = new RegExp(`^/v1/(${Object.keys(COLLECTIONS).join("|")})(/\\{id\\}(?:/tags)?)?$`);
    for (const path of Object.keys(openApiDocument().paths as object)) {
      const written = path.replace(collections, "/v1/{collection}$2").replace("{action}", "{start\\|stop\\|reboot}").replace("{key}", "{Kind}:{key}");
      expect(readme, path).toContain(written);
    }
    expect(readme).toContain("Content-Type: application/octet-stream");
    expect(readme).toContain("members[0]");
  });
});
