// Conformance row: every scenario against the anthropic adapter (see register.ts).
import { registerConformance } from "./register.js";
import { anthropicRow } from "./rows/anthropic.js";

registerConformance(anthropicRow);
