// An image's declared files, units, users and cloud-init: checked by the Image schema (bad input
// named by address, field path and source line), merged per variant, covered by the variant's
// digest, rendered into the variant layer and its digest. In-process: this is the SDK's and the
// build's pure logic; the real build of these contents is in test/integration/images-build.test.ts.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { contentsProblems, renderSetup, renderVariantFiles } from "../../images/build/config-render.ts";
import { planLayers } from "../../images/build/layer-plan.ts";
import { formatDiagnostic } from "../../core/model.ts";
import { evaluateStack } from "../../sdk/evaluate.ts";
import { stack } from "../../sdk/index.ts";
import { imagePath, renderTemplate } from "../../images/contents.ts";
import { image, type ImageInputs } from "../../sdk/kinds/image.ts";
import { resolveVariant, variantDigest } from "../../images/variant.ts";
import { configDigest, freshness, makeLockedVariant, type LockedPackage } from "../../images/lockfile.ts";

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHx me@host";

const declared = {
  base: "debian-12",
  packages: ["tomcat10"],
  config: { threadPool: 50 },
  files: { "/etc/app/app.conf": { template: "threads={{ threadPool }}\nheap={{heapMiB}}\n", owner: "app" } },
  units: { "app.service": { content: "[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n" }, "tomcat10.service": { enabled: false } },
  users: { app: { groups: ["sudo", "adm"], sshKeys: [KEY] } },
  variants: {
    light: { config: { heapMiB: 512 } },
    heavy: { config: { heapMiB: 8192 }, files: { "/etc/app/app.conf": { content: "fixed\n", mode: "0600" } }, cloudInit: { userData: "#cloud-config\nruncmd: [true]\n" } },
  },
};
const parsed = image.inputs.parse(declared) as ImageInputs;

function errorsOf(args: Record<string, unknown>): string[] {
  const evaluated = evaluateStack(stack("t", (s) => void s.image("app", args as never)));
  return evaluated.diagnostics.filter((d) => d.severity === "error").map(formatDiagnostic);
}

describe("the Image schema's contents", () => {
  it("defaults and merges per variant: the variant's entry for a path replaces the image's", () => {
    const light = resolveVariant(parsed, "light").contents!;
    expect(light.files["/etc/app/app.conf"]).toEqual({ template: "threads={{ threadPool }}\nheap={{heapMiB}}\n", mode: "0644", owner: "app" });
    expect(light.units["app.service"]!.enabled).toBe(true);
    expect(light.users.app).toEqual({ groups: ["sudo", "adm"], sshKeys: [KEY], shell: "/bin/bash" });
    expect(light.cloudInit).toBeUndefined();
    const heavy = resolveVariant(parsed, "heavy").contents!;
    expect(heavy.files["/etc/app/app.conf"]).toEqual({ content: "fixed\n", mode: "0600", owner: "root:root" });
    expect(heavy.cloudInit?.userData).toMatch(/^#cloud-config/);
  });

  it.each([
    ["a relative path", { files: { "etc/x": { content: "" } } }, 'files.etc/x: expected an absolute path inside the image'],
    ["a path with ..", { files: { "/etc/../root/x": { content: "" } } }, 'files./etc/../root/x: a path may not hold "..", "." or empty segments'],
    ["both content and template", { files: { "/x": { content: "a", template: "b" } } }, "files./x: give exactly one of content or template"],
    ["a setuid mode", { files: { "/x": { content: "a", mode: "4755" } } }, 'files./x.mode: expected an octal mode like "0644"'],
    ["an owner with a space", { files: { "/x": { content: "a", owner: "a b" } } }, 'files./x.owner: expected "user" or "user:group"'],
    ["a unit that is no unit name", { units: { "app": {} } }, "units.app: expected a systemd unit name like app.service"],
    ["a user name in capitals", { users: { Root: {} } }, "users.Root: expected a Linux user name"],
    ["a private key as an ssh key", { users: { app: { sshKeys: ["-----BEGIN OPENSSH PRIVATE KEY-----"] } } }, "users.app.sshKeys[0]: expected one OpenSSH public key line"],
    ["user-data without its header", { cloudInit: { userData: "runcmd: []" } }, 'cloudInit.userData: user-data starts with "#cloud-config" or "#!"'],
    ["a template key no variant sets", { files: { "/x": { template: "{{heapMiB}}" } } }, "files./x.template: {{heapMiB}} is not in variant a's config"],
    [
      "a variant's template key only the other variant sets",
      { variants: { a: { config: { heapMiB: 1 } }, b: { files: { "/x": { template: "{{heapMiB}}" } } } } },
      "variants.b.files./x.template: {{heapMiB}} is not in variant b's config",
    ],
  ])("refuses %s, naming address, path and line", (_label, extra, expected) => {
    const errors = errorsOf({ base: "debian-12", variants: { a: {} }, ...extra });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain("image-contents.test.ts:");
    expect(errors[0]).toContain(`image.app: ${expected}`);
  });

  it("accepts exactly the normalised absolute paths (property)", () => {
    const segment = fc.stringMatching(/^[A-Za-z0-9._-]{1,8}$/);
    fc.assert(
      fc.property(fc.array(fc.oneof(segment, fc.constantFrom("..", ".", "")), { minLength: 1, maxLength: 6 }), (segments) => {
        const path = `/${segments.join("/")}`;
        const clean = segments.every((s) => s !== "" && s !== "." && s !== "..");
        expect(imagePath.safeParse(path).success).toBe(clean);
        expect(imagePath.safeParse(path.replace(/^\/+/, "")).success).toBe(false); // never relative
      }),
    );
  });
});

describe("digests cover the contents", () => {
  const light = resolveVariant(parsed, "light");
  it("a variant without contents keeps its digest; adding or changing one changes it", () => {
    const plain = resolveVariant(image.inputs.parse({ base: "debian-12", variants: { a: {} } }) as ImageInputs, "a");
    expect(variantDigest({ ...plain, contents: undefined })).toBe(variantDigest(plain));
    const other = { ...light, contents: { ...light.contents!, users: {} } };
    expect(variantDigest(other)).not.toBe(variantDigest(light));
    expect(configDigest(light.config, light.contents)).not.toBe(configDigest(light.config));
  });
  it("a lock entry is config-changed, not fresh, when only the contents changed (so plan sees a new digest)", () => {
    const pkg: LockedPackage = { name: "tomcat10", version: "10.1", architecture: "all", installedKiB: 1, reason: { kind: "requested" } };
    const entry = makeLockedVariant(light, [pkg]);
    expect(freshness(entry, light)).toBe("fresh");
    const changed = { ...light, contents: { ...light.contents!, files: {} } };
    expect(freshness(entry, changed)).toBe("config-changed");
    expect(makeLockedVariant(changed, [pkg]).digest).not.toBe(entry.digest);
  });
});

describe("rendering the contents into the variant layer", () => {
  const render = (variant: string, packages = ["tomcat10", "systemd", "passwd", "cloud-init"]) => {
    const { config, contents } = resolveVariant(parsed, variant);
    return renderVariantFiles({ image: "app", variant, digest: "sha256:d", config, packages, ...(contents ? { contents } : {}) });
  };

  it("fills templates from the variant's config, writes unit files, authorized_keys and the cloud-init seed", () => {
    const light = render("light");
    const byPath = new Map(light.map((f) => [f.path, f]));
    expect(byPath.get("/etc/app/app.conf")).toEqual({ path: "/etc/app/app.conf", mode: 0o644, content: "threads=50\nheap=512\n", owner: "app" });
    expect(byPath.get("/etc/systemd/system/app.service")?.content).toContain("ExecStart=/bin/true");
    expect(byPath.has("/etc/systemd/system/tomcat10.service")).toBe(false); // a packaged unit: only disabled
    expect(byPath.get("/home/app/.ssh/authorized_keys")).toEqual({ path: "/home/app/.ssh/authorized_keys", mode: 0o600, content: `${KEY}\n`, owner: "app:app" });
    const heavy = new Map(render("heavy").map((f) => [f.path, f]));
    expect(heavy.get("/etc/app/app.conf")).toMatchObject({ mode: 0o600, content: "fixed\n", owner: "root:root" });
    expect(heavy.get("/var/lib/cloud/seed/nocloud/user-data")).toMatchObject({ mode: 0o600, content: "#cloud-config\nruncmd: [true]\n" });
    expect(heavy.get("/var/lib/cloud/seed/nocloud/meta-data")?.content).toBe("instance-id: iid-app-heavy\n");
  });

  it("a declared file replaces the one virtform generates at its path", () => {
    const withOwn = image.inputs.parse({ ...declared, files: { "/etc/default/tomcat10": { content: "JAVA_OPTS=mine\n" } } }) as ImageInputs;
    const { config, contents } = resolveVariant(withOwn, "light");
    const files = renderVariantFiles({ image: "app", variant: "light", digest: "d", config, packages: ["tomcat10"], contents: contents! });
    expect(files.filter((f) => f.path === "/etc/default/tomcat10").map((f) => f.content)).toEqual(["JAVA_OPTS=mine\n"]);
  });

  it("the setup creates the users and enables or disables the units", () => {
    expect(renderSetup(resolveVariant(parsed, "light").contents)).toEqual({
      users: [{ name: "app", groups: ["adm", "sudo"], shell: "/bin/bash" }],
      enable: ["app.service"],
      disable: ["tomcat10.service"],
    });
  });

  it.each([
    [["tomcat10", "passwd", "cloud-init"], "heavy", [["units", "units need systemd in the variant's packages (add systemd or systemd-sysv)"]]],
    [["tomcat10", "passwd", "systemd"], "heavy", [["cloudInit", "cloudInit needs the cloud-init package in the variant's packages"]]],
    [["tomcat10", "passwd", "systemd"], "light", []],
  ])("with packages %j, %s's contents need %j", (packages, variant, problems) => {
    expect(contentsProblems(resolveVariant(parsed, variant).contents, packages)).toEqual(problems);
  });

  it("a change to a user or a unit's enablement changes only that variant's own layer", () => {
    const pkgs = (extra: string[]): LockedPackage[] =>
      ["libc6", ...extra].map((name) => ({ name, version: "1", architecture: "amd64", installedKiB: 1, ...(name === "libc6" ? { base: true as const } : {}), reason: { kind: "requested" as const } }));
    const variants = { light: pkgs(["tomcat10"]), heavy: pkgs(["tomcat10"]) };
    const setup = renderSetup(resolveVariant(parsed, "light").contents);
    const before = planLayers(variants, {}, 0, { light: setup });
    const after = planLayers(variants, {}, 0, { light: { ...setup, disable: [] } });
    expect(after.light!.slice(0, 2).map((l) => l.digest)).toEqual(before.light!.slice(0, 2).map((l) => l.digest));
    expect(after.light![2]!.digest).not.toBe(before.light![2]!.digest);
    expect(after.heavy!.map((l) => l.digest)).toEqual(before.heavy!.map((l) => l.digest));
    expect(planLayers(variants, {}, 0).light![2]!.digest).toBe(planLayers(variants, {}, 0, { light: { users: [], enable: [], disable: [] } }).light![2]!.digest);
  });

  it.each([
    ["{{ a }}-{{b}}", { a: 1, b: true }, "1-true"],
    ["no placeholders {x}", {}, "no placeholders {x}"],
  ])("renders %j", (template, config, out) => expect(renderTemplate(template, config)).toBe(out));
});
