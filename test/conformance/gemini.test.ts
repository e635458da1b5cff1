// Conformance row: every scenario against the gemini adapter (see register.ts).
import { registerConformance } from "./register.js";
import { geminiRow } from "./rows/gemini.js";

registerConformance(geminiRow);
