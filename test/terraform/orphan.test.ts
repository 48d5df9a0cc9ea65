// A Terraform killed (or crashed) sends no Shutdown: the plugin it started must still go away, and
// give back the embedded emulator's data dir, or the next `terraform plan` finds the data "in use".
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it, vi } from "vitest";
import { toPacked } from "../../provider/terraform/codec.ts";
import { encode } from "../../provider/terraform/msgpack.ts";
import { exitWithParent } from "../../provider/parent-watch.ts";
import { providerAttributes } from "../../provider/terraform/schema.ts";
import { IN_USE_LOCK_FILE } from "../../provider/in-use-lock.ts";
import { makeWorkdir } from "../helpers/cli.ts";
import { launch } from "./plugin-process.ts";

type Plugin = Awaited<ReturnType<typeof launch>>;

/** ConfigureProvider with the embedded emulator's data in `dataDir`: the diagnostics Terraform would show. */
async function configure(plugin: Plugin, dataDir: string): Promise<{ summary: string; detail: string }[]> {
  const config = { msgpack: encode(toPacked({ dataDir }, { type: "object", attributes: providerAttributes })) };
  const { reply, error } = (await plugin.call("/tfplugin6.Provider/ConfigureProvider", { config })) as { reply?: { diagnostics: { summary: string; detail: string }[] }; error?: Error };
  if (error) throw error;
  return reply!.diagnostics ?? []; // none: left out of the reply
}

describe("the Terraform plugin, when Terraform is killed", () => {
  const plugins: Plugin[] = [];
  afterAll(() => plugins.forEach((p) => p.close()));

  it("exits within seconds and frees the data dir for the next Terraform", async () => {
    const dataDir = join(makeWorkdir("virtform-orphan-"), "emulator");
    const first = await launch({}, { underParent: true });
    plugins.push(first);
    expect(await configure(first, dataDir)).toEqual([]);
    expect(existsSync(join(dataDir, IN_USE_LOCK_FILE))).toBe(true);

    first.child.kill("SIGKILL"); // Terraform dies without a word to its plugin
    const outcome = await Promise.race([first.stdoutClosed.then(() => "exited"), new Promise((resolve) => setTimeout(resolve, 4000, "still running"))]);
    expect(outcome).toBe("exited");
    // Released as on Shutdown, not left behind for the next one to judge stale.
    expect(existsSync(join(dataDir, IN_USE_LOCK_FILE))).toBe(false);

    const second = await launch();
    plugins.push(second);
    expect(await configure(second, dataDir)).toEqual([]);
  });

  it("stays through Ctrl-C, which reaches it with Terraform: Terraform stops it gracefully (StopProvider, Shutdown)", async () => {
    const plugin = await launch();
    plugins.push(plugin);
    process.kill(plugin.pluginPid, "SIGINT");
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect((await plugin.call("/grpc.health.v1.Health/Check", {})).reply).toEqual({ status: 1 });
  });
});

describe("exitWithParent", () => {
  it("exits once the parent is not the one the wrapper saw (VIRTFORM_PLUGIN_PARENT), and keeps the variable from its children", async () => {
    const exit = vi.fn();
    process.env.VIRTFORM_PLUGIN_PARENT = String(process.ppid + 100_000); // a parent that is gone already
    const stop = exitWithParent(exit, 5);
    expect(process.env.VIRTFORM_PLUGIN_PARENT).toBeUndefined();
    await vi.waitFor(() => expect(exit).toHaveBeenCalledTimes(1));
    stop();
  });

  it("leaves the process alone while its parent lives, however long it is idle", async () => {
    const exit = vi.fn();
    const stop = exitWithParent(exit, 5); // this test's parent (vitest) lives on
    await new Promise((resolve) => setTimeout(resolve, 60));
    stop();
    expect(exit).not.toHaveBeenCalled();
  });
});
