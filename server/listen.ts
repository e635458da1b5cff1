// The network front door: one port that speaks HTTP/2 (gRPC, gRPC-Web, Connect) and, on the same
// cleartext port, HTTP/1.1 (Connect and gRPC-Web from browsers and plain curl). The first bytes of
// a connection tell which: an HTTP/2 client opens with the "PRI * HTTP/2.0" preface.
import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import type { Duplex } from "node:stream";

export type Handler = (req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse | http2.Http2ServerResponse) => void;

export type Listener = {
  /** host:port actually bound (the port is real when 0 was asked for). */
  address: string;
  port: number;
  /** Stops accepting, lets in-flight calls finish for up to graceMs, then cuts what is left. */
  close(graceMs: number): Promise<void>;
};

export type ListenOptions = { host: string; port: number; tls?: { cert: Buffer; key: Buffer } };

const H2_PREFACE = Buffer.from("PRI * HTTP/2.0");

export async function listen(handler: Handler, options: ListenOptions): Promise<Listener> {
  const sessions = new Set<http2.ServerHttp2Session>();
  const sockets = new Set<Duplex>();
  let h1: http.Server | undefined;
  let h1InFlight = 0;
  let closing = false;
  let outer: net.Server;
  const h2 =
    options.tls !== undefined
      ? http2.createSecureServer({ ...options.tls, allowHTTP1: true }, handler)
      : http2.createServer({}, handler);
  h2.on("session", (session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
  });

  if (options.tls !== undefined) {
    outer = h2 as unknown as net.Server;
    h2.on("secureConnection", (socket: Duplex) => {
      sockets.add(socket);
      socket.once("close", () => sockets.delete(socket));
    });
  } else {
    const plain = http.createServer((req, res) => {
      h1InFlight++;
      res.once("close", () => h1InFlight--);
      if (closing) res.setHeader("connection", "close");
      handler(req, res);
    });
    h1 = plain;
    outer = net.createServer((socket) => {
      sockets.add(socket);
      socket.once("close", () => sockets.delete(socket));
      socket.on("error", () => socket.destroy());
      let seen = Buffer.alloc(0);
      const onData = (chunk: Buffer) => {
        seen = Buffer.concat([seen, chunk]);
        const n = Math.min(seen.length, H2_PREFACE.length);
        const isH2 = seen.subarray(0, n).equals(H2_PREFACE.subarray(0, n));
        if (isH2 && n < H2_PREFACE.length) return; // wait for the rest of the preface
        socket.off("data", onData);
        socket.pause();
        socket.unshift(seen);
        if (isH2) {
          // http2 picks the unshifted preface up from the socket's buffer itself.
          h2.emit("connection", socket);
        } else {
          // The HTTP/1 parser reads unshifted bytes through 'data' events: let them flow again.
          plain.emit("connection", socket);
          socket.resume();
        }
      };
      socket.on("data", onData);
    });
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
      h1?.closeIdleConnections();
      const drained = (async () => {
        while (sessions.size > 0 || h1InFlight > 0) {
          await new Promise((r) => setTimeout(r, 20));
          h1?.closeIdleConnections();
        }
      })();
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, graceMs);
      });
      await Promise.race([drained, timeout]);
      clearTimeout(timer);
      for (const session of sessions) session.destroy();
      for (const socket of sockets) socket.destroy();
      await stopped;
    },
  };
}
