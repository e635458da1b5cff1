// An upper bound of what a call can cost, reserved against budgets before the call runs. It must
// really bound, cheaply: no tokenizer on the hot path. Byte-level BPE never yields more tokens than
// the text has UTF-8 bytes, so bytes bound the text; framing the providers add around messages,
// parts and tools is bounded by fixed allowances; images by the provider's documented ceiling.
import type { ProviderType } from "../../config/schema.js";
import { costNanoUsd, type ModelPrice } from "../../core/pricing.js";
import type { ChatMessage, CompletionRequest, EmbeddingRequest, ToolDefinition } from "../../core/types.js";
import { imageTokenCeiling } from "./image-tokens.js";

/** A target the alias could reach (its own, its fallbacks, and any a rule could redirect to). */
export type BoundTarget = {
  /** For messages: "provider/model". */
  readonly name: string;
  readonly providerType: ProviderType;
  readonly model: string;
  /** undefined = not in the price catalog. */
  readonly price: ModelPrice | undefined;
};

export type CallBound = {
  /** The most input tokens any reachable target can count for the prompt. */
  readonly inputTokens: number;
  readonly outputTokens: number;
  /**
   * Set when the caller gave no max_output_tokens and a budget applies: the bound assumed this many
   * output tokens, so the caller of boundCompletion must send it upstream as the limit.
   */
  readonly maxOutputTokensToSend: number | undefined;
  /** The bound in nano-USD at the most expensive reachable target (two of them when hedging). */
  readonly costNanoUsd: bigint;
  /** A rough expected token count (≈ 4 bytes a token, plus output) for TPM reservations, settled later. */
  readonly expectedTokens: number;
  /**
   * Reachable targets with no price. They add 0 to the bound: their calls are recorded at cost 0, so
   * they cannot spend a budget (the gateway warns about unpriced targets at start-up).
   */
  readonly unpricedTargets: readonly string[];
};

export type CompletionBoundInput = {
  readonly request: Pick<CompletionRequest, "messages" | "tools" | "generation">;
  readonly targets: readonly BoundTarget[];
  /** The alias hedges (hedge_after_ms): two targets can run, and bill, at once. */
  readonly hedging: boolean;
  /** The alias's assumed_output_tokens. */
  readonly assumedOutputTokens: number;
  readonly budgetApplies: boolean;
};

// Allowances for tokens the provider adds around the caller's text: role markers and turn
// delimiters (OpenAI's chat format adds 3–4 a message), block wrappers for parts, per-tool framing.
const TOKENS_PER_REQUEST = 16;
const TOKENS_PER_MESSAGE = 8;
const TOKENS_PER_PART = 16;
const TOKENS_PER_TOOL = 32;
// Anthropic documents the tool-use system prompt it adds at 264–530 tokens depending on the model and
// tool_choice; the other providers add less for their tool preambles. One allowance covers all.
const TOKENS_FOR_TOOL_USE = 600;

type PromptSize = { bytes: number; images: number; framing: number };

function utf8(text: string): number {
  return Buffer.byteLength(text, "utf8");
}

function toolBytes(tool: ToolDefinition): number {
  return utf8(tool.name) + utf8(tool.description) + utf8(JSON.stringify(tool.parameters));
}

function measure(messages: readonly ChatMessage[], tools: readonly ToolDefinition[]): PromptSize {
  let bytes = 0;
  let images = 0;
  let framing = TOKENS_PER_REQUEST + messages.length * TOKENS_PER_MESSAGE;
  for (const message of messages) {
    framing += message.content.length * TOKENS_PER_PART;
    for (const part of message.content) {
      if (part.type === "text") bytes += utf8(part.text);
      else if (part.type === "image") images += 1;
      else if (part.type === "tool_call") {
        bytes += utf8(part.id) + utf8(part.name) + utf8(part.argumentsJson) + (part.providerState ? utf8(part.providerState) : 0);
      } else bytes += utf8(part.toolCallId) + utf8(part.name) + utf8(part.content);
    }
  }
  if (tools.length > 0) framing += TOKENS_FOR_TOOL_USE + tools.length * TOKENS_PER_TOOL;
  for (const tool of tools) bytes += toolBytes(tool);
  return { bytes, images, framing };
}

function inputTokensAt(size: PromptSize, target: BoundTarget): number {
  return size.bytes + size.framing + size.images * imageTokenCeiling(target.providerType, target.model);
}

/** The bound prices every input token at the dearest input rate, so no cache split can exceed it. */
function priceAt(target: BoundTarget, inputTokens: number, outputTokens: number): bigint {
  const price = target.price!;
  let dearestInput = price.input;
  if (price.cachedInput > dearestInput) dearestInput = price.cachedInput;
  if (price.cacheWrite > dearestInput) dearestInput = price.cacheWrite;
  return costNanoUsd(
    { inputTokens, outputTokens, cachedInputTokens: 0, cacheWriteInputTokens: 0, reasoningTokens: 0, estimated: false },
    { ...price, input: dearestInput },
  );
}

function bound(size: PromptSize, output: number, maxOutputTokensToSend: number | undefined, input: CompletionBoundInput | EmbedBoundInput): CallBound {
  let first = 0n;
  let second = 0n;
  let inputTokens = size.bytes + size.framing;
  let unpriced: string[] | undefined;
  for (const target of input.targets) {
    const tokens = inputTokensAt(size, target);
    if (tokens > inputTokens) inputTokens = tokens;
    if (!target.price) {
      (unpriced ??= []).push(target.name);
      continue;
    }
    const cost = priceAt(target, tokens, output);
    if (cost > first) [first, second] = [cost, first];
    else if (cost > second) second = cost;
  }
  const imageTokens = inputTokens - size.bytes - size.framing;
  return {
    inputTokens,
    outputTokens: output,
    maxOutputTokensToSend,
    costNanoUsd: input.hedging ? first + second : first,
    expectedTokens: Math.ceil(size.bytes / 4) + size.framing + imageTokens + output,
    unpricedTargets: unpriced ?? [],
  };
}

export function boundCompletion(input: CompletionBoundInput): CallBound {
  const size = measure(input.request.messages, input.request.tools);
  const asked = input.request.generation.maxOutputTokens;
  const output = asked ?? input.assumedOutputTokens;
  return bound(size, output, asked === undefined && input.budgetApplies ? input.assumedOutputTokens : undefined, input);
}

export type EmbedBoundInput = {
  readonly request: Pick<EmbeddingRequest, "inputs">;
  readonly targets: readonly BoundTarget[];
  readonly hedging: boolean;
};

/** Embeddings produce no output tokens: the bound is the inputs' bytes plus framing per input. */
export function boundEmbedding(input: EmbedBoundInput): CallBound {
  let bytes = 0;
  for (const text of input.request.inputs) bytes += utf8(text);
  return bound({ bytes, images: 0, framing: TOKENS_PER_REQUEST + input.request.inputs.length * TOKENS_PER_PART }, 0, undefined, input);
}
