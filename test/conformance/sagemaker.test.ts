// Conformance row: every scenario against the sagemaker adapter (see register.ts).
import { registerConformance } from "./register.js";
import { sagemakerRow } from "./rows/sagemaker.js";

registerConformance(sagemakerRow);
