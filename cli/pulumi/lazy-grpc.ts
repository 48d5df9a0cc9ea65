// In the Pulumi program's process, when the monitor's calls go over virtform's pipe (pipe-client.ts):
// the SDK's modules get a stand-in for @grpc/grpc-js that loads the real one only when used. At load
// they only make their client classes (makeGenericClientConstructor), and at the first call the
// monitor's and engine's clients with insecure credentials: the pipe's clients replace both, so a
// program that registers resources never needs gRPC (its client stack is about a tenth of the
// process's start). Anything else the SDK takes from it (a server, metadata) loads the real module.
import { createRequire } from "node:module";

/** The stand-in's URL: no file, child-hooks.ts serves its source. */
export const LAZY_GRPC_URL = new URL("./lazy-grpc-js.cjs", import.meta.url).href;

const realGrpc = createRequire(createRequire(import.meta.url).resolve("@pulumi/pulumi/proto/resource_grpc_pb.js")).resolve("@grpc/grpc-js");

/** Whether specifier, imported from parentURL, gets the stand-in. */
export function takesLazyGrpc(specifier: string, parentURL: string | undefined): boolean {
  return specifier === "@grpc/grpc-js" && parentURL !== undefined && parentURL.includes("/@pulumi/pulumi/");
}

export const LAZY_GRPC_SOURCE = `"use strict";
const REAL = ${JSON.stringify(realGrpc)};
let real;
const grpc = () => (real ??= require(REAL));
// Insecure credentials made on use: the stand-in's own until a real client takes them.
const INSECURE = Object.freeze({ virtformInsecureCredentials: true });
const credentials = { createInsecure: () => INSECURE };
const credentialsOf = (arg) => (arg === INSECURE ? grpc().credentials.createInsecure() : arg);
function makeGenericClientConstructor(...args) {
  let client;
  const Client = () => (client ??= grpc().makeGenericClientConstructor(...args));
  return new Proxy(function LazyGrpcClient() {}, {
    construct: (_, callArgs) => Reflect.construct(Client(), callArgs.map(credentialsOf)),
    get: (_, key) => Client()[key],
  });
}
const own = {
  __esModule: true,
  makeGenericClientConstructor,
  credentials,
  // The status codes alone, from the same file the real module exports them from.
  status: require(${JSON.stringify(realGrpc.replace(/index\.js$/, "constants.js"))}).Status,
};
module.exports = new Proxy({}, {
  get: (_, key) => (real === undefined && key in own ? own[key] : grpc()[key]),
  has: (_, key) => key in grpc(),
  ownKeys: () => Reflect.ownKeys(grpc()),
  getOwnPropertyDescriptor: (_, key) => {
    const found = Reflect.getOwnPropertyDescriptor(grpc(), key);
    return found && { ...found, configurable: true };
  },
});
`;
