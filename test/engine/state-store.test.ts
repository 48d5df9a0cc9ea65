// The state contract (state-store-conformance.ts) run against every store.
import { join } from "node:path";
import { describe } from "vitest";
import { FileStateStore } from "../../engine/state-file.ts";
import { MemoryStateStore } from "../../engine/state-memory.ts";
import { stateStoreConformance } from "./state-store-conformance.ts";
import { makeWorkdir } from "../helpers/cli.ts";

describe("FileStateStore keeps the state contract", () => {
  stateStoreConformance(
    () => new FileStateStore(join(makeWorkdir("virtform-store-"), "s.json"), "s"),
    (store) => new FileStateStore((store as FileStateStore).path, "s"),
  );
});

describe("MemoryStateStore keeps the state contract", () => {
  // One store is one place: "another process" is the same object.
  stateStoreConformance(() => new MemoryStateStore("s"), (store) => store);
});
