// The conformance suite against the embedded emulator (the CLI's default backend).
import { backendConformance } from "./suite.ts";
import { embeddedTarget } from "./targets/embedded.ts";

backendConformance(embeddedTarget);
