// The conformance suite against the emulator served over HTTP (`virtform emulator serve`).
import { backendConformance } from "./suite.ts";
import { httpTarget } from "./targets/http.ts";

backendConformance(httpTarget);
