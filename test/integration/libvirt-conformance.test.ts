// The backend conformance suite (test/conformance/suite.ts) against real libvirt: two hosts on this
// machine, two users' session daemons, one reached over qemu+ssh (test/conformance/targets/libvirt.ts).
// Needs root and libvirt's tools; under CI their absence fails loudly.
import { afterAll, describe } from "vitest";
import { missingLibvirtTools } from "../helpers/libvirt-hosts.ts";
import { backendConformance } from "../conformance/suite.ts";
import { libvirtTarget, stopLibvirtTarget } from "../conformance/targets/libvirt.ts";

const missing = missingLibvirtTools();
if (missing.length > 0 && process.env.CI) throw new Error(`the libvirt conformance suite needs ${missing.join(", ")}: see .ci/run`);

describe.skipIf(missing.length > 0)("libvirt on two hosts", () => {
  afterAll(stopLibvirtTarget);
  backendConformance(libvirtTarget);
});
