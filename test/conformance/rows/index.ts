// Every adapter in the conformance table. One import and one entry per provider.
import type { AdapterRow } from "../adapter-row.js";
import { anthropicRow } from "./anthropic.js";
import { bedrockRow } from "./bedrock.js";
import { geminiRow } from "./gemini.js";
import { openaiCompatibleRow, openaiRow } from "./openai.js";
import { sagemakerRow, sagemakerTgiRow } from "./sagemaker.js";

export const ROWS: AdapterRow[] = [openaiRow, openaiCompatibleRow, anthropicRow, geminiRow, bedrockRow, sagemakerRow, sagemakerTgiRow];
