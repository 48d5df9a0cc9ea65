// The smallest image that boots, as the image-build suites declare it: the kernel and systemd-sysv
// on the base, two variants that differ only in config (b also declares a user, a file and a unit),
// so they share the base and the common layer and each has an overlay holding its rendered files.
export const TINY_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOps ops@example";

/** The `s.image("tiny", ...)` call of a program (a statement inside a stack's body). */
export function tinyImage(heapB: number): string {
  return `s.image("tiny", {
    base: "debian-12",
    packages: ["linux-image-cloud-amd64", "systemd-sysv"],
    config: { threadPool: 4 },
    variants: {
      a: { config: { heapMiB: 64 } },
      // b declares contents: a user (in sudo, with a key), a templated file it owns, a unit enabled.
      b: {
        config: { heapMiB: ${heapB} },
        users: { ops: { groups: ["sudo"], sshKeys: [${JSON.stringify(TINY_KEY)}] } },
        files: { "/etc/hello.conf": { template: "heap={{heapMiB}}\\n", owner: "ops", mode: "0640" } },
        units: { "hello.service": { content: "[Service]\\nType=oneshot\\nExecStart=/bin/true\\n[Install]\\nWantedBy=multi-user.target\\n" } },
      },
    },
  })`;
}
