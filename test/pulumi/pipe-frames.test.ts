// The frames the resource monitor's calls travel in between a Pulumi program and virtform.
import { describe, expect, it } from "vitest";
import { frameReader, readReply, readRequest, replyFrame, requestFrame } from "../../cli/pulumi/pipe-frames.ts";

describe("pipe frames", () => {
  const request = requestFrame(7, "/pulumirpc.ResourceMonitor/RegisterResource", Buffer.from([1, 2, 3]));
  const reply = replyFrame(7, Buffer.from([9]));
  const failure = replyFrame(8, Buffer.alloc(0), { code: 12, details: "not implemented" });

  it.each([
    ["whole", [Buffer.concat([request, reply, failure])]],
    ["one byte at a time", [...Buffer.concat([request, reply, failure])].map((b) => Buffer.from([b]))],
    ["split inside a length", [Buffer.concat([request, reply.subarray(0, 2)]), Buffer.concat([reply.subarray(2), failure])]],
  ])("are read back %s", (_, chunks) => {
    const frames: Buffer[] = [];
    const read = frameReader((frame) => frames.push(Buffer.from(frame)));
    for (const chunk of chunks) read(chunk);
    expect(frames).toHaveLength(3);
    expect(readRequest(frames[0]!)).toEqual({ id: 7, path: "/pulumirpc.ResourceMonitor/RegisterResource", body: Buffer.from([1, 2, 3]) });
    expect(readReply(frames[1]!)).toEqual({ id: 7, body: Buffer.from([9]) });
    expect(readReply(frames[2]!)).toMatchObject({ id: 8, error: { code: 12, details: "not implemented" } });
  });
});
