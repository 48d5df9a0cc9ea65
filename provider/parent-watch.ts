// A plugin goes away with the program that started it. Terraform ends its plugin with Shutdown, the
// Pulumi engine kills its own; but one that is itself killed or crashes does neither, and the
// plugin would hold the embedded emulator's data dir (in-use.lock) until someone kills it by hand.
// The sign that it is gone: the plugin's parent process changes. Terraform and Pulumi start the
// plugin themselves (bin/terraform-provider-virtform execs Node; bin/pulumi-resource-virtform.mjs is
// Node), so the parent is Terraform or Pulumi, and when it dies the plugin is handed to init or a
// subreaper. Not stdin: go-plugin passes Terraform's own stdin (a terminal stays open after
// Terraform dies; /dev/null is at its end from the start). Not the gRPC connection: grpc-go may
// close an idle one and dial again while Terraform lives. A wrapper between them (the bench's
// /usr/bin/time) is the parent instead, and outlives Terraform as long as the plugin does. The
// parent is the one bin/terraform-provider-virtform saw (VIRTFORM_PLUGIN_PARENT) when set: a
// Terraform killed while Node starts is then noticed too.

/** How often the parent is looked at: the one cost is a getppid() a second, on a timer that never keeps the process alive. */
const CHECK_MS = 1000;

/** Calls `exit` once the process that started this one is gone; the returned function stops watching. */
export function exitWithParent(exit: () => void, checkMs = CHECK_MS): () => void {
  const parent = Number(process.env.VIRTFORM_PLUGIN_PARENT) || process.ppid;
  delete process.env.VIRTFORM_PLUGIN_PARENT; // for this process only, not for what it starts
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    exit();
  }, checkMs);
  timer.unref();
  return () => clearInterval(timer);
}
