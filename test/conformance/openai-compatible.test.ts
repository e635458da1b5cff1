// Conformance row: every scenario against the openai-compatible adapter (see register.ts).
import { registerConformance } from "./register.js";
import { openaiCompatibleRow } from "./rows/openai.js";

registerConformance(openaiCompatibleRow);
