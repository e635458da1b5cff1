// One row of the conformance table: how to start a provider's fake, how to configure the gateway
// for it, and how to read back what the adapter sent in that provider's wire format. Rows live in
// rows/<provider>.ts; the scenarios in scenarios.ts run against every row.
import type { Code } from "@connectrpc/connect";
import type { FinishReason } from "../../gen/switchboard/v1/inference_pb.js";
import type { FakeUpstream, RecordedRequest } from "../fakes/server.js";

/** What an adapter sent upstream, read back from the provider's own wire format. */
export type SentRequest = {
  /** The system prompt as the provider received it ("" when none). */
  system: string;
  /** Non-system messages (turns) in the request. */
  turns: number;
  maxTokens?: number;
  stopSequences: string[];
  /** Image parts received (inline bytes or URLs). */
  images: number;
  /** Contents of tool results sent back to the model. */
  toolResults: string[];
  /** Names of the tools defined in the request. */
  toolNames: string[];
  /** Whether the request asked for a streamed answer. */
  stream: boolean;
  /** Whether credentials were attached (any auth header the provider uses). */
  authenticated: boolean;
};

export type ScenarioName =
  | "plain text"
  | "multi-turn with system prompt"
  | "streaming"
  | "max tokens"
  | "stop sequence"
  | "tool call round trip"
  | "streaming tool-call deltas"
  | "image input"
  | "rate limited"
  | "quota exhausted"
  | "overloaded"
  | "server error"
  | "context too long"
  | "bad credentials"
  | "content filter"
  | "malformed upstream body"
  | "upstream closes mid-stream"
  | "stalled stream aborted"
  | "connection refused"
  | "deadline exceeded"
  | "client cancel"
  | "embeddings";

export type AdapterRow = {
  /** The provider type this row proves. */
  name: string;
  /** The row's name in test titles, when two rows prove the same provider type. */
  label?: string;
  startFake(): Promise<FakeUpstream>;
  /** The `providers.<name>` config block pointing the adapter at the fake. */
  providerConfig(fake: FakeUpstream): Record<string, unknown>;
  /** The upstream model (for SageMaker, the endpoint name). */
  model: string;
  /** The upstream model for embeddings, when the provider has them. */
  embeddingModel?: string;
  inspect(request: RecordedRequest): SentRequest;
  /** True when the upstream reports no token counts, so the gateway estimates them. */
  estimatesUsage?: boolean;
  /** Whether the provider tells a retry delay on rate limiting (header or body). */
  reportsRetryDelay: boolean;
  /**
   * Scenarios this provider truly cannot support, with the reason and how the scenario's call
   * really ends. Anything listed here is run and must end exactly so; it is never silently skipped.
   */
  unsupported: Partial<Record<ScenarioName, Unsupported>>;
};

export type Unsupported = {
  reason: string;
  /** The documented outcome: a status with a message that says why, or the answer given instead. */
  outcome: { code: Code; message: RegExp } | { finishReason: FinishReason };
};
