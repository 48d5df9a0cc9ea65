// A handle of another StackBuilder, wherever a handle is accepted, is an error at the line of the
// use naming both stacks; it used to be dropped silently or bound to a same-named resource here.
import { describe, expect, it } from "vitest";
import type { Diagnostic } from "../../core/model.ts";
import { evaluateStack } from "../../sdk/evaluate.ts";
import { stack, StackBuilder, type InstanceGroup, type StoragePool } from "../../sdk/index.ts";

/** Another stack's handles, declared outside the stack being evaluated. */
function storageStack() {
  const storage = new StackBuilder("storage");
  const archive = storage.storagePool("archive", { media: "hdd", devices: [{ sizeGiB: 100 }] });
  const logs = archive.volume("logs", { sizeGiB: 5 });
  const img = storage.image("base", { base: "debian-12", variants: { light: {} } });
  const web = storage.cluster("web", { hypervisor: "native", hosts: { count: 1, vcpu: 4, memoryGiB: 8, localDiskGiB: 0 } });
  const group = web.instances("app", { count: 1, image: img.variant("light"), vcpu: 1, memoryGiB: 1 });
  return { storage, logs, img, group };
}

interface Local {
  fast: StoragePool;
  group: InstanceGroup;
}

const rows: {
  name: string;
  /** Makes the use: true for a use in a declaration, the stack's outputs for a use there. */
  use: (foreign: ReturnType<typeof storageStack>, local: Local, s: StackBuilder) => boolean | Record<string, unknown> | void;
  expected: string[];
}[] = [
  { name: "handles of the same stack are fine", use: (_f, { fast, group }) => void fast.volume("data", { sizeGiB: 1 }).attachTo(group), expected: [] },
  {
    name: "another stack's volume as source, even with a same-named volume here",
    use: ({ logs }, { fast }) => {
      fast.volume("logs", { sizeGiB: 5 });
      return (fast.volume("copy", { sizeGiB: 5, source: logs }), true);
    },
    expected: ['volume.copy: source: volume.logs belongs to stack "storage" and cannot be used in stack "app"'],
  },
  {
    name: "another stack's volume attached here",
    use: ({ logs }, { group }) => (logs.attachTo(group), true),
    expected: ['attachment.logs@web/app[0]: instance: instances.web/app[0] belongs to stack "app" and cannot be used in stack "storage"'],
  },
  {
    name: "a volume here attached to another stack's instances",
    use: ({ group }, { fast }) => (fast.volume("data", { sizeGiB: 1 }).attachTo(group), true),
    expected: ['attachment.data@web/app[0]: instance: instances.web/app[0] belongs to stack "storage" and cannot be used in stack "app"'],
  },
  {
    name: "another stack's image variant",
    use: ({ img }, _l, s) =>
      (s.cluster("db", { hypervisor: "native", hosts: { count: 1, vcpu: 4, memoryGiB: 8, localDiskGiB: 0 } }).instances("x", { count: 1, image: img.variant("light"), vcpu: 1, memoryGiB: 1 }), true),
    expected: ['instances.db/x[0]: image: image.base belongs to stack "storage" and cannot be used in stack "app"'],
  },
  {
    name: "dependsOn another stack's group",
    use: ({ group }, { fast }) => (fast.volume("data", { sizeGiB: 1 }, { dependsOn: group }), true),
    expected: ['volume.data: dependsOn: instances.web/app belongs to stack "storage" and cannot be used in stack "app"'],
  },
  {
    name: "addDependency on another stack's volume",
    use: ({ logs }, { fast }) => (fast.volume("data", { sizeGiB: 1 }).addDependency(logs), true),
    expected: ['volume.data: dependsOn: volume.logs belongs to stack "storage" and cannot be used in stack "app"'],
  },
  {
    name: "an output of another stack's handle",
    use: ({ logs }) => ({ logsId: logs.id }),
    expected: ['outputs: logsId: volume.logs belongs to stack "storage" and cannot be used in stack "app"'],
  },
];

const text = (d: Diagnostic) => [d.address, d.path, d.message].filter(Boolean).join(": ");

describe("handles from another stack", () => {
  for (const row of rows) {
    it(row.name, () => {
      const foreign = storageStack();
      let atUse = false;
      const evaluated = evaluateStack(
        stack("app", (s) => {
          const fast = s.storagePool("fast", { media: "ssd", devices: [{ sizeGiB: 100 }] });
          const img = s.image("img", { base: "debian-12", variants: { light: {} } });
          const web = s.cluster("web", { hypervisor: "native", hosts: { count: 1, vcpu: 4, memoryGiB: 8, localDiskGiB: 0 } });
          const group = web.instances("app", { count: 1, image: img.variant("light"), vcpu: 1, memoryGiB: 1 });
          const result = row.use(foreign, { fast, group }, s);
          atUse = result === true;
          return typeof result === "object" ? result : {};
        }),
      );
      const errors = evaluated.diagnostics.filter((d) => d.severity === "error");
      // Each error starts with the expected address, path and message; the advice follows.
      expect(errors.map(text).map((t, i) => (t.startsWith(row.expected[i] ?? "\0") ? row.expected[i] : t))).toEqual(row.expected);
      for (const error of errors) {
        expect(error.message).toContain("pass ids between stacks as plain values (virtform output --json)");
        // At the use, in this file (vitest reprints the file, so its lines are checked through the CLI).
        if (atUse) expect(error.source?.file).toMatch(/foreign-handles\.test\.ts$/);
      }
      // The other stack holds it too: whichever of the two a program evaluates reports it.
      const storageProblems = [...foreign.storage.problems, ...foreign.storage.declarations.flatMap((d) => d.problems)];
      if (atUse) expect(storageProblems.map(text)).toEqual(errors.map(text));
    });
  }
});
