// Conformance row: every scenario against the openai adapter (see register.ts).
import { registerConformance } from "./register.js";
import { openaiRow } from "./rows/openai.js";

registerConformance(openaiRow);
