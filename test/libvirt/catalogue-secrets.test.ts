// The libvirt catalogue (.virtform/libvirt/catalogue.json) keeps an instance's userData sealed, as
// the emulator keeps its data: never in clear in the file, opened again when read, and with
// VIRTFORM_PASSPHRASE only by whoever has the passphrase.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Catalogue, type CatalogueRecord } from "../../provider/libvirt/catalogue.ts";
import { makeWorkdir } from "../helpers/cli.ts";

const USER_DATA = "#cloud-config\npassword: hunter2\n";
const instance: CatalogueRecord = {
  kind: "Instance",
  id: "i-0123456789ab",
  name: "instances.web/app[0]",
  token: "t",
  tags: {},
  spec: { cluster: "cl-1", group: "app", index: 0, vcpu: 1, memoryGiB: 1, localDiskGiB: 0, powerState: "running", userData: USER_DATA },
};

describe("secrets in the libvirt catalogue", () => {
  const before = process.env.VIRTFORM_PASSPHRASE;
  afterEach(() => {
    if (before === undefined) delete process.env.VIRTFORM_PASSPHRASE;
    else process.env.VIRTFORM_PASSPHRASE = before;
  });

  it("seals userData in the file and opens it when read back", () => {
    delete process.env.VIRTFORM_PASSPHRASE;
    const file = join(makeWorkdir("virtform-catalogue-"), "catalogue.json");
    new Catalogue(file).put(instance);
    const text = readFileSync(file, "utf8");
    expect(text).not.toContain("hunter2");
    expect(text).toContain("$sealed");
    expect(new Catalogue(file).get(instance.id)!.spec.userData).toBe(USER_DATA);
  });

  it("with a passphrase, the file and its key alone do not open it", () => {
    process.env.VIRTFORM_PASSPHRASE = "correct horse";
    const dir = makeWorkdir("virtform-catalogue-");
    const file = join(dir, "catalogue.json");
    new Catalogue(file).put(instance);
    expect(readFileSync(join(dir, "secrets.key"), "utf8")).not.toContain('"key"');
    expect(new Catalogue(file).get(instance.id)!.spec.userData).toBe(USER_DATA);
    delete process.env.VIRTFORM_PASSPHRASE;
    expect(() => new Catalogue(file)).toThrow(new RegExp(`the libvirt catalogue ${file}: its data in .* holds secrets encrypted with VIRTFORM_PASSPHRASE`));
  });

  it("a record with no secret is written as it is", () => {
    delete process.env.VIRTFORM_PASSPHRASE;
    const dir = makeWorkdir("virtform-catalogue-");
    const file = join(dir, "catalogue.json");
    const { userData: _none, ...spec } = instance.spec;
    new Catalogue(file).put({ ...instance, spec });
    expect(JSON.parse(readFileSync(file, "utf8")).records[0].spec).toEqual(spec);
  });
});
