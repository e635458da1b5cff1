// Reads a stream that is expected to fail: the kinds of chunk that arrived first, then the status.
import { ConnectError } from "@connectrpc/connect";
import type { CompleteChunk } from "../../gen/switchboard/v1/inference_pb.js";

export async function streamUntilError(stream: AsyncIterable<CompleteChunk>): Promise<{ kinds: string[]; error: ConnectError }> {
  const kinds: string[] = [];
  try {
    for await (const chunk of stream) kinds.push(chunk.event.case ?? "");
  } catch (error) {
    return { kinds, error: ConnectError.from(error) };
  }
  throw new Error(`the stream ended without an error after ${kinds.join(", ") || "nothing"}`);
}
