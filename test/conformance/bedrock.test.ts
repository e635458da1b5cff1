// Conformance row: every scenario against the bedrock adapter (see register.ts).
import { registerConformance } from "./register.js";
import { bedrockRow } from "./rows/bedrock.js";

registerConformance(bedrockRow);
