// Token estimates for providers that report no usage (some OpenAI-compatible servers, SageMaker
// containers) and for cost-aware routing. The o200k_base BPE tables cost about a second of CPU
// and ~160 MB RSS to load, so they are loaded at start-up only when the config needs them
// (runtime.ts); live calls use the rough* counts, which never load them.
import { createRequire } from "node:module";
import type { Tiktoken } from "js-tiktoken/lite";
import type { ChatMessage } from "./types.js";

let encoder: Tiktoken | undefined;

function getEncoder(): Tiktoken {
  if (!encoder) {
    const require = createRequire(import.meta.url);
    const { Tiktoken: Encoder } = require("js-tiktoken/lite") as typeof import("js-tiktoken/lite");
    encoder = new Encoder(require("js-tiktoken/ranks/o200k_base"));
  }
  return encoder;
}

export function countTokens(text: string): number {
  if (text === "") return 0;
  return getEncoder().encode(text).length;
}

// Chat formats add a few tokens of framing per message.
const TOKENS_PER_MESSAGE = 3;
const TOKENS_PER_IMAGE = 765;

export function countMessageTokens(messages: ChatMessage[]): number {
  let total = 3;
  for (const message of messages) {
    total += TOKENS_PER_MESSAGE;
    for (const part of message.content) {
      if (part.type === "text") total += countTokens(part.text);
      else if (part.type === "image") total += TOKENS_PER_IMAGE;
      else if (part.type === "tool_call") total += countTokens(part.name) + countTokens(part.argumentsJson);
      else total += countTokens(part.content);
    }
  }
  return total;
}

/** Whether the BPE tables are loaded (only ever at start-up or reload, by preloadTokenizer). */
export function tokenizerLoaded(): boolean {
  return encoder !== undefined;
}

/** Loads the BPE tables now (at startup) so the first estimate does not stall a live call. */
export function preloadTokenizer(): void {
  getEncoder();
}

/** The tokenizer's count when its tables are loaded, else ~4 characters a token: for rough, off-path estimates. */
export function roughTokens(text: string): number {
  return encoder ? countTokens(text) : Math.ceil(text.length / 4);
}

/** Like countMessageTokens, without ever loading the tokenizer tables on a live call. */
export function roughMessageTokens(messages: ChatMessage[]): number {
  if (encoder) return countMessageTokens(messages);
  let chars = 0;
  for (const m of messages) for (const p of m.content) chars += p.type === "text" ? p.text.length : p.type === "image" ? 3000 : 100;
  return Math.ceil(chars / 4) + 3 * messages.length + 3;
}
