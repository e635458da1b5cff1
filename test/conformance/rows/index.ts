// Every adapter in the conformance table. One import and one entry per provider.
import type { AdapterRow } from "../adapter-row.js";
import { openaiCompatibleRow, openaiRow } from "./openai.js";

export const ROWS: AdapterRow[] = [openaiRow, openaiCompatibleRow];
