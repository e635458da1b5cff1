// Conformance row: every scenario against the sagemaker-tgi adapter (see register.ts).
import { registerConformance } from "./register.js";
import { sagemakerTgiRow } from "./rows/sagemaker.js";

registerConformance(sagemakerTgiRow);
