// Egress through a corporate proxy: HTTP(S)_PROXY / NO_PROXY are honoured by the shared transport
// (a fetch-based adapter) and by the AWS clients, proven through a real CONNECT proxy on loopback
// that records every tunnel it opens. The variables are read when the gateway builds its
// transport, so each test sets them (serially: they are process-wide) before starting it.
import http from "node:http";
import net from "node:net";
import type { AddressInfo } from "node:net";
import test, { type ExecutionContext } from "ava";
import { userText } from "../clients/inference-client.js";
import { ProxyRoutes } from "../server/providers/proxy-env.js";
import { startOpenAIFake } from "./fakes/openai.js";
import { startSageMakerFake } from "./fakes/sagemaker.js";
import { useFake } from "./helpers/fakes.js";
import { singleProviderConfig, startTestGateway } from "./helpers/gateway.js";

type Proxy = { url: string; tunnels: string[]; forwarded: string[] };

/** A minimal forward proxy: CONNECT tunnels, and absolute-URI requests relayed as they are. */
async function startProxy(t: ExecutionContext): Promise<Proxy> {
  const proxy: Proxy = { url: "", tunnels: [], forwarded: [] };
  const sockets = new Set<net.Socket>();
  const server = http.createServer((req, res) => {
    proxy.forwarded.push(req.url ?? "");
    const target = new URL(req.url ?? "");
    const upstream = http.request(target, { method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on("error", () => res.destroy());
    req.pipe(upstream);
  });
  server.on("connect", (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    proxy.tunnels.push(req.url ?? "");
    const [host, port] = (req.url ?? "").split(":");
    const upstream = net.connect(Number(port), host, () => {
      client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("error", () => undefined);
      socket.once("close", () => sockets.delete(socket));
    }
    upstream.once("close", () => client.destroy());
    client.once("close", () => upstream.destroy());
  });
  server.on("connection", (socket: net.Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  t.teardown(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return proxy;
}

const PROXY_VARIABLES = ["HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy"];

/** Sets the proxy variables for this test only. */
function proxyEnv(t: ExecutionContext, values: Record<string, string>): void {
  const saved = Object.fromEntries(PROXY_VARIABLES.map((name) => [name, process.env[name]]));
  for (const name of PROXY_VARIABLES) delete process.env[name];
  Object.assign(process.env, values);
  t.teardown(() => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });
}

const ask = { model: "chat", messages: [userText("Hi through the proxy")] };
const SAGEMAKER_KEYS = { region: "us-west-2", access_key_id: "AKIAPROXYTEST0000001", secret_access_key: "proxy-test-sagemaker-secret-0001" };

test.serial("an openai provider reaches its upstream through HTTP_PROXY (a CONNECT tunnel)", async (t) => {
  const proxy = await startProxy(t);
  const fake = await useFake(t, () => startOpenAIFake());
  proxyEnv(t, { HTTP_PROXY: proxy.url });
  const { client } = await startTestGateway(t, singleProviderConfig({ type: "openai", base_url: `${fake.url}/v1`, api_key: "sk-test-proxy-0001" }));
  const res = await client.complete(ask);
  t.is(res.message?.content[0]?.part.value, "echo: Hi through the proxy");
  t.is(fake.requests.length, 1);
  t.deepEqual(proxy.tunnels, [`127.0.0.1:${fake.port}`], "the request went through the proxy's tunnel");
});

test.serial("a SageMaker provider (AWS SDK) reaches its endpoint through the lower-case http_proxy", async (t) => {
  const proxy = await startProxy(t);
  const fake = await useFake(t, () => startSageMakerFake());
  // The fake endpoint is plain http, so http_proxy applies; the AWS agents tunnel both schemes.
  proxyEnv(t, { http_proxy: proxy.url });
  const { client } = await startTestGateway(
    t,
    singleProviderConfig({ type: "sagemaker", base_url: fake.url, ...SAGEMAKER_KEYS, payload_format: "openai" }, "my-llm-endpoint"),
  );
  const res = await client.complete(ask);
  t.is(res.message?.content[0]?.part.value, "echo: Hi through the proxy");
  t.regex(String(fake.last().headers.authorization), /^AWS4-HMAC-SHA256 /, "signed as usual");
  t.deepEqual(proxy.tunnels, [`127.0.0.1:${fake.port}`]);
});

test.serial("NO_PROXY exempts its hosts: both adapters go direct", async (t) => {
  const proxy = await startProxy(t);
  const openai = await useFake(t, () => startOpenAIFake());
  const sagemaker = await useFake(t, () => startSageMakerFake());
  proxyEnv(t, { HTTP_PROXY: proxy.url, HTTPS_PROXY: proxy.url, NO_PROXY: "localhost, 127.0.0.1" });
  const { client } = await startTestGateway(t, {
    providers: {
      openai: { type: "openai", base_url: `${openai.url}/v1`, api_key: "sk-test-proxy-0002" },
      sm: { type: "sagemaker", base_url: sagemaker.url, ...SAGEMAKER_KEYS, payload_format: "openai" },
    },
    models: {
      chat: { retry: { max_attempts: 1 }, targets: [{ provider: "openai", model: "gpt-4o-mini" }] },
      sm: { retry: { max_attempts: 1 }, targets: [{ provider: "sm", model: "my-llm-endpoint" }] },
    },
  });
  await client.complete(ask);
  await client.complete({ ...ask, model: "sm" });
  t.is(openai.requests.length, 1);
  t.is(sagemaker.requests.length, 1);
  t.deepEqual(proxy.tunnels, [], "no tunnel was opened");
  t.deepEqual(proxy.forwarded, [], "nothing was relayed");
});

test("NO_PROXY matching: hosts, subdomains, ports, wildcard; https falls back to HTTP_PROXY", (t) => {
  const routes = new ProxyRoutes({ httpProxy: "http://proxy:3128", noProxy: ".internal.example, 10.0.0.5:8000 api.example.com" });
  t.is(routes.proxyFor("https://bedrock-runtime.us-east-1.amazonaws.com/"), "http://proxy:3128");
  t.is(routes.proxyFor("http://vllm.internal.example/v1"), undefined);
  t.is(routes.proxyFor("http://internal.example/v1"), undefined);
  t.is(routes.proxyFor("http://10.0.0.5:8000/v1"), undefined);
  t.is(routes.proxyFor("http://10.0.0.5:9000/v1"), "http://proxy:3128", "another port is not exempt");
  t.is(routes.proxyFor("https://eu.api.example.com/"), undefined);
  t.is(routes.proxyFor("https://notapi.example.com/"), "http://proxy:3128");
  t.is(new ProxyRoutes({ httpsProxy: "http://p:1", noProxy: "" }).proxyFor("http://plain.example/"), undefined, "HTTPS_PROXY is for https only");
  t.is(new ProxyRoutes({ httpProxy: "http://p:1", noProxy: "*" }).proxyFor("https://any.example/"), undefined);
});
