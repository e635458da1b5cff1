// A LangChain JS agent through the gateway by changing only a base URL: @langchain/openai's
// ChatOpenAI (configuration.baseURL → the gateway's /v1) drives a small @langchain/langgraph graph
// with one tool. The model answers with a tool call, the graph runs the tool, the tool result goes
// back through the gateway, and the model's final text ends the turn — unary and streamed, against
// an OpenAI and an Anthropic target.
import test from "ava";
import { tool } from "@langchain/core/tools";
import type { AIMessageChunk, BaseMessage } from "@langchain/core/messages";
import { END, MessagesAnnotation, START, StateGraph } from "@langchain/langgraph";
import { ToolNode, toolsCondition } from "@langchain/langgraph/prebuilt";
import { ChatOpenAI } from "@langchain/openai";
import { z } from "zod";
import { anthropicRow } from "../conformance/rows/anthropic.js";
import { openaiRow } from "../conformance/rows/openai.js";
import { startWithRow } from "./setup.js";

function weatherAgent(baseURL: string, streaming: boolean) {
  const asked: string[] = [];
  const getWeather = tool(
    async ({ city }: { city: string }) => {
      asked.push(city);
      return JSON.stringify({ city, sky: "sunny", celsius: 21 });
    },
    { name: "get_weather", description: "Current weather for a city", schema: z.object({ city: z.string() }) },
  );
  const model = new ChatOpenAI({ model: "chat", apiKey: "sk-unused", maxRetries: 0, configuration: { baseURL } }).bindTools([getWeather]);
  // Streamed turns use model.stream(): invoke() with `streaming: true` estimates token counts with
  // js-tiktoken, which downloads its ranks from the internet (no network here), whatever the server.
  const callModel = async (messages: BaseMessage[]): Promise<BaseMessage> => {
    if (!streaming) return model.invoke(messages);
    let whole: AIMessageChunk | undefined;
    for await (const chunk of await model.stream(messages)) whole = whole === undefined ? chunk : whole.concat(chunk);
    if (!whole) throw new Error("the stream carried no chunk");
    return whole;
  };
  const graph = new StateGraph(MessagesAnnotation)
    .addNode("agent", async (state) => ({ messages: [await callModel(state.messages)] }))
    .addNode("tools", new ToolNode([getWeather]))
    .addEdge(START, "agent")
    .addConditionalEdges("agent", toolsCondition, ["tools", END])
    .addEdge("tools", "agent")
    .compile();
  return { graph, asked };
}

const text = (message: BaseMessage | undefined) => (typeof message?.content === "string" ? message.content : JSON.stringify(message?.content));

for (const row of [openaiRow, anthropicRow]) {
  for (const streaming of [false, true]) {
    test(`langgraph-agent-runs-a-tool-turn-through-the-gateway · ${row.name} · ${streaming ? "streamed" : "unary"}`, async (t) => {
      const { v1, fake } = await startWithRow(t, row);
      fake.enqueue(
        { kind: "reply", toolCalls: [{ id: "call_paris", name: "get_weather", arguments: { city: "Paris" } }] },
        { kind: "reply", text: "It is sunny in Paris, 21 °C." },
      );
      const { graph, asked } = weatherAgent(v1, streaming);
      const result = await graph.invoke({ messages: [{ role: "user", content: "What's the weather in Paris?" }] });
      t.deepEqual(asked, ["Paris"], "the graph ran the tool the model called, with its arguments");
      t.is(text(result.messages.at(-1)), "It is sunny in Paris, 21 °C.");
      t.is(fake.requests.length, 2);
      const second = row.inspect(fake.last());
      t.deepEqual(second.toolNames, ["get_weather"]);
      t.deepEqual(second.toolResults.map((r) => JSON.parse(r) as unknown), [{ city: "Paris", sky: "sunny", celsius: 21 }]);
      t.is(second.stream, streaming);
    });
  }
}
