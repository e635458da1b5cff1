// Docker HEALTHCHECK: one grpc.health.v1.Health/Check call to the gateway, exit 0 when SERVING.
// Plain JavaScript on purpose: it runs every few seconds and must start in milliseconds, without
// the TypeScript loader. The two messages are encoded by hand (field 1 of each; see health.proto).
import grpc from "@grpc/grpc-js";

const address = process.env.SWITCHBOARD_HEALTH_ADDRESS ?? "127.0.0.1:50051";
const service = process.env.SWITCHBOARD_HEALTH_SERVICE ?? "";
const SERVING = 1;

/** HealthCheckRequest { string service = 1; } */
function encodeRequest(request) {
  const name = Buffer.from(request.service, "utf8");
  if (name.length === 0) return Buffer.alloc(0);
  if (name.length > 127) throw new RangeError("service name too long for this probe");
  return Buffer.concat([Buffer.from([0x0a, name.length]), name]);
}

/** HealthCheckResponse { ServingStatus status = 1; } (an absent field is 0, UNKNOWN) */
function decodeResponse(bytes) {
  return { status: bytes.length >= 2 && bytes[0] === 0x08 ? bytes[1] : 0 };
}

const Client = grpc.makeGenericClientConstructor(
  {
    check: {
      path: "/grpc.health.v1.Health/Check",
      requestStream: false,
      responseStream: false,
      requestSerialize: encodeRequest,
      requestDeserialize: () => ({ service }),
      responseSerialize: () => Buffer.alloc(0),
      responseDeserialize: decodeResponse,
    },
  },
  "Health",
);
const client = new Client(address, grpc.credentials.createInsecure());
client.check({ service }, { deadline: Date.now() + 3_000 }, (error, response) => {
  client.close();
  if (error) {
    console.error(`health check failed: ${error.message}`);
    process.exit(1);
  }
  if (response.status !== SERVING) {
    console.error(`health check: status ${response.status}, not SERVING`);
    process.exit(1);
  }
  process.exit(0);
});
