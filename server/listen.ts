// A listening port that speaks HTTP/2 and HTTP/1.1 at once. The first bytes of a cleartext
// connection tell which (an HTTP/2 client opens with the "PRI * HTTP/2.0" preface); under TLS,
// ALPN does. HTTP/1.1 goes to the request handler (connect-node). HTTP/2 goes to the HTTP/2 door
// when one is given (grpc-js on the main port), else to the same handler through node:http2.
import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import type { Duplex } from "node:stream";
import tls from "node:tls";

export type Handler = (req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse | http2.Http2ServerResponse) => void;

/** Something that serves whole HTTP/2 connections itself (grpc-js). */
export type Http2Door = {
  accept(socket: Duplex): void;
  /** GOAWAY; resolves once the calls in flight have finished. */
  drain(): Promise<void>;
  destroy(): void;
};

export type Listener = {
  /** host:port actually bound (the port is real when 0 was asked for). */
  address: string;
  port: number;
  /** Stops accepting, lets in-flight calls finish for up to graceMs, then cuts what is left. */
  close(graceMs: number): Promise<void>;
};

export type ListenOptions = { host: string; port: number; tls?: { cert: Buffer; key: Buffer }; http2Door?: Http2Door };

const H2_PREFACE = Buffer.from("PRI * HTTP/2.0");

/** Calls `route` with the socket once its first bytes tell whether it speaks HTTP/2. */
function sniff(socket: net.Socket, route: (socket: net.Socket, isH2: boolean) => void): void {
  let seen = Buffer.alloc(0);
  const onData = (chunk: Buffer) => {
    seen = Buffer.concat([seen, chunk]);
    const n = Math.min(seen.length, H2_PREFACE.length);
    const isH2 = seen.subarray(0, n).equals(H2_PREFACE.subarray(0, n));
    if (isH2 && n < H2_PREFACE.length) return; // wait for the rest of the preface
    socket.off("data", onData);
    socket.pause();
    socket.unshift(seen);
    route(socket, isH2);
  };
  socket.on("data", onData);
}

export async function listen(handler: Handler, options: ListenOptions): Promise<Listener> {
  const sessions = new Set<http2.ServerHttp2Session>();
  const sockets = new Set<Duplex>();
  let h1InFlight = 0;
  let closing = false;
  const door = options.http2Door;
  const track = (socket: Duplex) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
  };

  const h1 = http.createServer((req, res) => {
    h1InFlight++;
    res.once("close", () => h1InFlight--);
    if (closing) res.setHeader("connection", "close");
    handler(req, res);
  });
  const h2 =
    options.tls !== undefined && door === undefined
      ? http2.createSecureServer({ ...options.tls, allowHTTP1: true }, handler)
      : http2.createServer({}, handler);
  h2.on("session", (session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
  });
  const toHttp1 = (socket: Duplex) => {
    h1.emit("connection", socket);
    socket.resume(); // the HTTP/1 parser reads unshifted bytes through 'data' events
  };
  // http2 (ours or grpc-js's) picks the unshifted preface up from the socket's buffer itself.
  const toHttp2 = (socket: Duplex) => (door ? door.accept(socket) : h2.emit("connection", socket));

  let outer: net.Server;
  if (options.tls === undefined) {
    outer = net.createServer((socket) => {
      track(socket);
      sniff(socket, (s, isH2) => (isH2 ? toHttp2(s) : toHttp1(s)));
    });
  } else if (door === undefined) {
    outer = h2 as unknown as net.Server;
    h2.on("secureConnection", track);
  } else {
    outer = tls.createServer({ ...options.tls, ALPNProtocols: ["h2", "http/1.1"] }, (socket) => {
      track(socket);
      if (socket.alpnProtocol === "h2") toHttp2(socket);
      else toHttp1(socket);
    });
    outer.on("tlsClientError", (_error, socket) => socket.destroy());
  }

  await new Promise<void>((resolve, reject) => {
    outer.once("error", reject);
    outer.listen(options.port, options.host, () => {
      outer.off("error", reject);
      resolve();
    });
  });
  const bound = outer.address() as net.AddressInfo;
  const host = bound.family === "IPv6" ? `[${bound.address}]` : bound.address;

  return {
    address: `${host}:${bound.port}`,
    port: bound.port,
    async close(graceMs) {
      closing = true;
      const stopped = new Promise<void>((resolve) => outer.close(() => resolve()));
      for (const session of sessions) session.close(); // GOAWAY: no new streams, existing ones finish
      h1.closeIdleConnections();
      const doorDrained = door?.drain() ?? Promise.resolve();
      const drained = (async () => {
        while (sessions.size > 0 || h1InFlight > 0) {
          await new Promise((r) => setTimeout(r, 20));
          h1.closeIdleConnections();
        }
        await doorDrained;
      })();
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, graceMs);
      });
      await Promise.race([drained, timeout]);
      clearTimeout(timer);
      door?.destroy();
      for (const session of sessions) session.destroy();
      for (const socket of sockets) socket.destroy();
      await stopped;
    },
  };
}
