// A reader that stops early (`virtform emulator inspect | head`) closes the pipe our output goes to.
// What is left to print has nobody to read it, but the command itself must not die half-way (an
// apply would stop between steps): output becomes a sink, the command finishes, and it exits with
// its own code, quietly. Any other write error is still an error.
let installed = false;

export function quietOnClosedPipe(): void {
  if (installed) return;
  installed = true;
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (err: NodeJS.ErrnoException) => {
      if (err.code !== "EPIPE") throw err;
      // Writes succeed into nothing; a writer waiting for its callback is still called back.
      stream.write = ((...args: unknown[]) => {
        const done = args.findLast((a) => typeof a === "function") as (() => void) | undefined;
        if (done) queueMicrotask(done);
        return true;
      }) as typeof stream.write;
    });
  }
}
