// `virtform init [dir]`: a new project that type-checks in an editor (once `npm install` brings the
// virtform package) and runs with `virtform plan` and `virtform apply`. Existing files are never
// overwritten.
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { CHECK_COMPILER_OPTIONS } from "../../review/typecheck.ts";
import { CliError } from "../cli-error.ts";
import packageJson from "../../package.json" with { type: "json" };

/** A stack name from the folder's name: lower-case words and dashes, starting with a letter. */
export function stackNameFor(dir: string): string {
  const name = basename(resolve(dir)).toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^[^a-z]+/, "").replace(/-+$/, "");
  return name || "infra";
}

export function projectFiles(name: string): Record<string, string> {
  const { types: _types, ...compilerOptions } = CHECK_COMPILER_OPTIONS;
  return {
    "infra.ts": `// The stack's resources. \`virtform plan\` shows what \`virtform apply\` would change;
// \`virtform check\` type-checks and validates this file.
import { stack } from "virtform";

export default stack("${name}", (s) => {
  const pool = s.storagePool("main", { media: "ssd", devices: [{ sizeGiB: 256 }] });
  const data = pool.volume("data", { sizeGiB: 20 }, { protect: true });
  return { dataVolumeId: data.id };
});
`,
    "tsconfig.json": JSON.stringify({ compilerOptions, include: ["*.ts"] }, null, 2) + "\n",
    "package.json":
      JSON.stringify(
        {
          name,
          private: true,
          type: "module",
          scripts: { check: "virtform check", plan: "virtform plan", apply: "virtform apply" },
          devDependencies: { virtform: `^${packageJson.version}` },
        },
        null,
        2,
      ) + "\n",
    ".gitignore": "# virtform's state and the embedded emulator's data\n.virtform/\nnode_modules/\n",
  };
}

export async function initCommand(dir: string): Promise<number> {
  const target = resolve(dir);
  const files = projectFiles(stackNameFor(target));
  const present = Object.keys(files).filter((name) => existsSync(join(target, name)));
  if (present.length > 0) throw new CliError(`${dir} already has ${present.join(", ")}; init writes a new project and overwrites nothing`);
  mkdirSync(target, { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(target, name), text);
  const cd = dir === "." ? "" : `cd ${dir} && `;
  process.stdout.write(`Wrote ${Object.keys(files).join(", ")} in ${dir}\nNext: ${cd}npm install, then virtform plan and virtform apply\n`);
  return 0;
}
