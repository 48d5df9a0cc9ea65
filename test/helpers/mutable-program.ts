// The example program as data, so a property test can mutate any value it passes to the DSL (names,
// arguments, options, variant names, handles) and run the same program in-process or through the
// CLI. `exampleValues` is the tree of values; `buildExample` is the program over it; `toSource`
// writes a (mutated) tree as JavaScript source for a program file.
import { secret, stack, variantMatrix, type StackDefinition } from "../../sdk/index.ts";

export type Values = Record<string, unknown>;

/** Every value the example passes to the DSL. Handles are named by the strings "@pool", "@volume", ... */
export function exampleValues(): Values {
  return {
    stackName: "shop",
    pool: { name: "fast", args: { media: "ssd", devices: [{ sizeGiB: 1024 }, { sizeGiB: 1024 }] }, options: {} },
    image: {
      name: "appserver",
      args: { base: "debian-12", packages: ["openjdk-17-jre-headless", "tomcat10"] },
      matrix: [{ light: { config: { heapMiB: 512 } }, heavy: { config: { heapMiB: 8192 }, packages: ["prometheus-node-exporter"] } }, { jdk17: {} }],
      options: { protect: false },
    },
    cluster: { name: "web", args: { hypervisor: "native", hosts: { count: 2, vcpu: 32, memoryGiB: 256, localDiskGiB: 2000 } }, options: {} },
    group: { name: "storefront", variant: "heavy-jdk17", args: { count: 2, vcpu: 8, memoryGiB: 16, localDiskGiB: 40, userData: "#cloud-config" }, options: {} },
    volume: { name: "shared-data", args: { sizeGiB: 200, multiAttach: true }, options: { dependsOn: "@cluster" } },
    snapshot: { name: "nightly", args: {}, options: {} },
    clone: { name: "restore", args: { sizeGiB: 200, source: "@snapshot" }, options: {} },
    attach: { target: "@group", args: { mode: "read-only" }, options: { ignoreChanges: ["mode"] } },
    dependency: "@pool",
    outputs: { sharedVolumeId: "@volume.id", note: { secret: "hidden" } },
  };
}

type Sdk = { stack: typeof stack; secret: typeof secret; variantMatrix: typeof variantMatrix };

/** The program: each DSL call takes its values from the tree, handles substituted for "@..." names. */
export function buildExample(v: Values, sdk: Sdk = { stack, secret, variantMatrix }): StackDefinition {
  const at = (value: unknown, path: string[]): unknown => {
    let current = value;
    for (const key of path) current = current !== null && typeof current === "object" ? (current as Record<string, unknown>)[key] : undefined;
    return current;
  };
  return sdk.stack(v.stackName as string, (s) => {
    const handles: Record<string, unknown> = {};
    const h = (value: unknown): unknown => {
      if (typeof value === "string" && value.startsWith("@")) {
        const [name, field] = value.slice(1).split(".");
        const handle = handles[name!];
        return field ? (handle as Record<string, unknown> | undefined)?.[field] : handle;
      }
      if (Array.isArray(value)) return value.map(h);
      if (value !== null && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
        return Object.fromEntries(Object.entries(value).map(([k, x]) => (k === "secret" ? [k, sdk.secret(x as string)] : [k, h(x)])));
      }
      return value;
    };
    const call = (part: string) => [at(v, [part, "name"]), h(at(v, [part, "args"])), h(at(v, [part, "options"]))] as const;
    const [poolName, poolArgs, poolOptions] = call("pool");
    const pool = s.storagePool(poolName as never, poolArgs as never, poolOptions as never);
    handles.pool = pool;
    const [imageName, imageArgs, imageOptions] = call("image");
    const matrix = at(v, ["image", "matrix"]);
    const variants = Array.isArray(matrix) ? (sdk.variantMatrix as (...d: unknown[]) => unknown)(...matrix) : matrix;
    const withVariants = imageArgs !== null && typeof imageArgs === "object" ? { ...imageArgs, variants } : imageArgs;
    const img = s.image(imageName as never, withVariants as never, imageOptions as never);
    handles.image = img;
    const [clusterName, clusterArgs, clusterOptions] = call("cluster");
    const web = s.cluster(clusterName as never, clusterArgs as never, clusterOptions as never);
    handles.cluster = web;
    const [groupName, groupArgs, groupOptions] = call("group");
    const variant = img.variant(at(v, ["group", "variant"]) as never);
    const withImage = groupArgs !== null && typeof groupArgs === "object" ? { ...groupArgs, image: variant } : groupArgs;
    const group = web.instances(groupName as never, withImage as never, groupOptions as never);
    handles.group = group;
    const [volumeName, volumeArgs, volumeOptions] = call("volume");
    const volume = pool.volume(volumeName as never, volumeArgs as never, volumeOptions as never);
    handles.volume = volume;
    const [snapshotName, snapshotArgs, snapshotOptions] = call("snapshot");
    handles.snapshot = volume.snapshot(snapshotName as never, snapshotArgs as never, snapshotOptions as never);
    const [cloneName, cloneArgs, cloneOptions] = call("clone");
    pool.volume(cloneName as never, cloneArgs as never, cloneOptions as never);
    volume.attachTo(h(at(v, ["attach", "target"])) as never, h(at(v, ["attach", "args"])) as never, h(at(v, ["attach", "options"])) as never);
    volume.addDependency(h(v.dependency) as never);
    return h(v.outputs) as Record<string, unknown>;
  });
}

/** JavaScript source for a value tree: what `buildExample` receives when a program file holds it. */
export function toSource(value: unknown): string {
  switch (typeof value) {
    case "string":
      return JSON.stringify(value);
    case "number":
      return Object.is(value, -0) ? "-0" : Number.isNaN(value) ? "NaN" : Number.isFinite(value) ? String(value) : value > 0 ? "Infinity" : "-Infinity";
    case "bigint":
      return `${value}n`;
    case "boolean":
      return String(value);
    case "undefined":
      return "undefined";
    case "symbol":
      return `Symbol(${JSON.stringify(value.description ?? "")})`;
    case "function":
      return "(() => undefined)";
    default:
      if (value === null) return "null";
      if (Array.isArray(value)) return `[${value.map(toSource).join(", ")}]`;
      // Computed keys make "__proto__" an own key, as in the value the property test ran in-process.
      return `{ ${Object.entries(value as object).map(([k, x]) => `[${JSON.stringify(k)}]: ${toSource(x)}`).join(", ")} }`;
  }
}
