// The one place errors become what a user reads (cli/report-error.ts): every layer's error is its
// message without a trace; anything else says it is a bug in virtform and shows the trace.
import { describe, expect, it } from "vitest";
import { VirtformError } from "../../core/virtform-error.ts";
import { JournalDamagedError } from "../../durable/journal-file.ts";
import { EmulatorError } from "../../emulator/errors.ts";
import { API_ERROR_CODES } from "../../emulator/http/collections.ts";
import { openApiDocument } from "../../emulator/http/openapi.ts";
import { StorageError } from "../../emulator/block/block-device.ts";
import { CycleError } from "../../engine/graph.ts";
import { DiagnosticsError } from "../../core/model.ts";
import { StalePlanError } from "../../engine/saved-plan.ts";
import { SecretsError } from "../../core/secrets-error.ts";
import { StateFileError } from "../../engine/state.ts";
import { LockedError, newLockInfo, UnlockError } from "../../engine/state-store.ts";
import { OperationError } from "../../operations/operation-error.ts";
import { HttpBackendError } from "../../provider/http-backend.ts";
import { BaseError } from "../../review/base.ts";
import { ReviewConfigError } from "../../review/config.ts";
import { CliError } from "../../cli/cli-error.ts";
import { describeError, describeStepError } from "../../cli/report-error.ts";

const holder = { ...newLockInfo("apply"), id: "lock-1", pid: 4242 };

/** One error of every class a user is meant to read, with its layer and code. */
const userErrors: [VirtformError, string, string][] = [
  [new CliError("--parallelism must be a positive whole number, got x"), "cli", "refused"],
  [new OperationError("lost-objects", "the backend holds 2 objects of stack s that state does not"), "operation", "lost-objects"],
  [new LockedError(holder, false, ".virtform/state/s.lock"), "state", "state-locked"],
  [new UnlockError("lock-id-mismatch", "the lock's id is lock-1, not lock-2; nothing was removed"), "state", "lock-id-mismatch"],
  [new StateFileError("state file s.json is not JSON"), "state", "state-damaged"],
  [new StateFileError("state file s.json has version 2", "state-version"), "state", "state-version"],
  [new StalePlanError("saved plan is stale: state changed since p.plan was made"), "state", "plan-stale"],
  [new SecretsError("state would hold secret values: set VIRTFORM_PASSPHRASE"), "secrets", "passphrase-needed"],
  [new SecretsError("VIRTFORM_PASSPHRASE does not decrypt", "wrong-passphrase"), "secrets", "wrong-passphrase"],
  [new CycleError(["volume.a", "volume.b", "volume.a"]), "engine", "dependency-cycle"],
  [new JournalDamagedError("s.journal", 3), "durable", "journal-damaged"],
  [new EmulatorError("capacity", "cluster web has 2 vCPU free, the instance needs 4"), "emulator", "capacity"],
  [new StorageError("ENOSPC", "pool p has no free chunk"), "storage", "ENOSPC"],
  [new HttpBackendError("unreachable", 0, "cannot reach the emulator at http://127.0.0.1:1"), "provider", "unreachable"],
  [new BaseError("--base main: no such commit"), "review", "base-unreadable"],
  [new ReviewConfigError("virtform-review.json: not valid JSON"), "review", "config-invalid"],
];

describe("describeError", () => {
  it.each(userErrors)("%s: its message, no trace, exit 1 (layer %s, code %s)", (err, layer, code) => {
    expect(err.layer).toBe(layer);
    expect(err.code).toBe(code);
    expect(err.name).toBe(err.constructor.name);
    const report = describeError(err);
    expect(report).toEqual({ text: `Error: ${err.message}\n`, exitCode: 1, bug: false });
    expect(report.text).not.toMatch(/\n\s+at /);
  });

  it("keeps a CliError's exit code", () => {
    expect(describeError(new CliError("cancelled", 130)).exitCode).toBe(130);
  });

  it("lists diagnostics under their summary, continuation lines indented", () => {
    const err = new DiagnosticsError([
      { severity: "error", message: "must be > 0", address: "volume.a", path: "sizeGiB", source: { file: "infra.ts", line: 3, column: 5 } },
      { severity: "error", message: "cannot resolve\nbecause of foo" },
    ]);
    expect(describeError(err)).toEqual({
      text: "Error: 2 errors\n  infra.ts:3: volume.a: sizeGiB: must be > 0\n  cannot resolve\n    because of foo\n",
      exitCode: 1,
      bug: false,
    });
  });

  it.each([new TypeError("Cannot read properties of undefined (reading 'id')"), new Error("plain"), "a thrown string"])(
    "%s is a bug: said so, with the trace",
    (err) => {
      const report = describeError(err);
      expect(report.bug).toBe(true);
      expect(report.exitCode).toBe(1);
      expect(report.text).toContain("this is a bug in virtform");
      if (err instanceof Error) expect(report.text).toContain(err.stack!);
    },
  );
});

describe("describeStepError", () => {
  it("is the message of an error a user reads (a capacity refusal)", () => {
    const err = new EmulatorError("capacity", "cluster web has 2 vCPU free, the instance needs 4");
    expect(describeStepError(err)).toBe(err.message);
  });

  it("says an unexpected error is a bug, with its trace", () => {
    const err = new TypeError("x is not a function");
    const text = describeStepError(err);
    expect(text.startsWith("x is not a function\n")).toBe(true);
    expect(text).toContain("this is a bug in virtform");
    expect(text).toContain("at ");
  });
});

describe("the emulator API's error codes", () => {
  it("are derived into the OpenAPI document", () => {
    const doc = openApiDocument() as { components: { schemas: { Error: { properties: { error: { properties: { code: { enum: string[] } } } } } } } };
    expect(doc.components.schemas.Error.properties.error.properties.code.enum).toEqual([...API_ERROR_CODES]);
    expect(API_ERROR_CODES).toEqual(expect.arrayContaining(["not-found", "conflict", "invalid", "capacity"]));
  });
});
