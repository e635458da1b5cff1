// response_format is a contract field, not only an OpenAI-door one: over gRPC a malformed one is
// INVALID_ARGUMENT naming its field, and a target without JSON mode refuses it with BadRequest
// naming generation.response_format, before any upstream request.
import test from "ava";
import { Code, ConnectError } from "@connectrpc/connect";
import { BadRequestSchema } from "../../gen/google/rpc/error_details_pb.js";
import { ResponseFormat_Type } from "../../gen/switchboard/v1/inference_pb.js";
import { userText } from "../../clients/inference-client.js";
import { anthropicRow } from "../conformance/rows/anthropic.js";
import { openaiRow } from "../conformance/rows/openai.js";
import { startWithRow } from "./setup.js";

test("grpc-response-format-json-schema-without-a-name-is-invalid-argument", async (t) => {
  const { client, fake } = await startWithRow(t, openaiRow);
  const error = await t.throwsAsync(
    client.complete({ model: "chat", messages: [userText("Hi")], generation: { responseFormat: { type: ResponseFormat_Type.JSON_SCHEMA, jsonSchema: { type: "object" } } } }),
    { instanceOf: ConnectError },
  );
  t.is(error?.code, Code.InvalidArgument);
  t.is(error?.findDetails(BadRequestSchema)[0]?.fieldViolations[0]?.field, "generation.response_format.name");
  t.is(fake.requests.length, 0);
});

test("grpc-response-format-refused-by-a-target-without-json-mode-names-the-field", async (t) => {
  const { client, fake } = await startWithRow(t, anthropicRow);
  const error = await t.throwsAsync(
    client.complete({ model: "chat", messages: [userText("Hi")], generation: { responseFormat: { type: ResponseFormat_Type.JSON_OBJECT } } }),
    { instanceOf: ConnectError },
  );
  t.is(error?.code, Code.InvalidArgument);
  t.is(error?.findDetails(BadRequestSchema)[0]?.fieldViolations[0]?.field, "generation.response_format");
  t.is(fake.requests.length, 0);
});

test("grpc-response-format-text-sends-nothing-upstream", async (t) => {
  const { client, fake } = await startWithRow(t, openaiRow);
  await client.complete({ model: "chat", messages: [userText("Hi")], generation: { responseFormat: { type: ResponseFormat_Type.TEXT } } });
  t.false("response_format" in (fake.last().body as object));
});
