import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import {
  type Metadata,
  Server as GrpcServer,
  ServerCredentials,
  status as grpcStatus,
  type sendUnaryData,
  type ServerUnaryCall,
  type ServiceDefinition,
} from '@grpc/grpc-js';

/** A span as an OTLP export carries it (whatever the transport), with its resource's service.name. */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  status: { code?: number; message?: string };
  attributes: Record<string, unknown>;
  service: string | undefined;
}

/** One export request: how it came, and its headers (HTTP) or metadata (gRPC). */
export interface ReceivedExport {
  protocol: 'http/json' | 'http/protobuf' | 'grpc';
  headers: Record<string, string>;
}

export interface OtlpReceiver {
  /** The OTLP/HTTP base URL (OTEL_EXPORTER_OTLP_ENDPOINT); spans are POSTed to <url>/v1/traces, JSON or protobuf. */
  url: string;
  /** The OTLP/gRPC target, http://127.0.0.1:<port> (plain text; https:// with `tls`): TraceService/Export. */
  grpcUrl: string;
  /** With `tls`: TLS handshakes the HTTP receiver refused (a client without a certificate the CA signed). */
  refusedHandshakes: number;
  spans: ReceivedSpan[];
  /** Export requests received, whatever they held. */
  requests: number;
  /** Each export request that could be read. */
  exports: ReceivedExport[];
  close(): Promise<void>;
}

/** AnyValue as OTLP/JSON writes it; the protobuf decoder below produces the same shape. */
type AnyValue = {
  stringValue?: string;
  intValue?: string | number;
  boolValue?: boolean;
  doubleValue?: number;
  arrayValue?: { values?: AnyValue[] };
};
type KeyValue = { key: string; value?: AnyValue };
type ExportRequest = {
  resourceSpans?: Array<{
    resource?: { attributes?: KeyValue[] };
    scopeSpans?: Array<{ spans?: Array<Record<string, unknown>> }>;
  }>;
};

function value(v: AnyValue | undefined): unknown {
  if (!v) return undefined;
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.arrayValue) return (v.arrayValue.values ?? []).map(value);
  return undefined;
}

function attributes(list: KeyValue[] | undefined): Record<string, unknown> {
  return Object.fromEntries((list ?? []).map((a) => [a.key, value(a.value)]));
}

// --- OTLP protobuf, decoded here from the wire format (opentelemetry/proto trace/v1, common/v1,
// resource/v1, collector/trace/v1), independently of the exporter's own encoder.

interface Field {
  no: number;
  /** Varint fields: the value; fixed and length-delimited fields: their bytes. */
  varint?: bigint;
  bytes?: Buffer;
}

function fields(buf: Buffer): Field[] {
  const out: Field[] = [];
  let pos = 0;
  const varint = (): bigint => {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (pos >= buf.length) throw new Error('protobuf: truncated varint');
      const b = buf[pos++];
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
    }
    throw new Error('protobuf: varint too long');
  };
  const take = (n: number): Buffer => {
    if (pos + n > buf.length) throw new Error('protobuf: truncated field');
    const bytes = buf.subarray(pos, pos + n);
    pos += n;
    return bytes;
  };
  while (pos < buf.length) {
    const tag = Number(varint());
    const no = tag >>> 3;
    switch (tag & 7) {
      case 0:
        out.push({ no, varint: varint() });
        break;
      case 1:
        out.push({ no, bytes: take(8) });
        break;
      case 2:
        out.push({ no, bytes: take(Number(varint())) });
        break;
      case 5:
        out.push({ no, bytes: take(4) });
        break;
      default:
        throw new Error(`protobuf: wire type ${tag & 7} of field ${no}`);
    }
  }
  return out;
}

const text = (f: Field) => (f.bytes ?? Buffer.alloc(0)).toString('utf8');
const hex = (f: Field) => (f.bytes ?? Buffer.alloc(0)).toString('hex');
const messages = (buf: Buffer, no: number) =>
  fields(buf)
    .filter((f) => f.no === no && f.bytes)
    .map((f) => f.bytes as Buffer);

function anyValue(buf: Buffer): AnyValue {
  const v: AnyValue = {};
  for (const f of fields(buf)) {
    if (f.no === 1) v.stringValue = text(f);
    else if (f.no === 2) v.boolValue = f.varint !== 0n;
    else if (f.no === 3) v.intValue = BigInt.asIntN(64, f.varint ?? 0n).toString();
    else if (f.no === 4 && f.bytes) v.doubleValue = f.bytes.readDoubleLE(0);
    else if (f.no === 5 && f.bytes) v.arrayValue = { values: messages(f.bytes, 1).map(anyValue) };
  }
  return v;
}

function keyValues(buf: Buffer, no: number): KeyValue[] {
  return messages(buf, no).map((kv) => {
    const out: KeyValue = { key: '' };
    for (const f of fields(kv)) {
      if (f.no === 1) out.key = text(f);
      else if (f.no === 2 && f.bytes) out.value = anyValue(f.bytes);
    }
    return out;
  });
}

function span(buf: Buffer): Record<string, unknown> {
  const s: Record<string, unknown> = { parentSpanId: '', kind: 0, status: {} };
  for (const f of fields(buf)) {
    if (f.no === 1) s.traceId = hex(f);
    else if (f.no === 2) s.spanId = hex(f);
    else if (f.no === 4) s.parentSpanId = hex(f);
    else if (f.no === 5) s.name = text(f);
    else if (f.no === 6) s.kind = Number(f.varint);
    else if (f.no === 15 && f.bytes) {
      const status: ReceivedSpan['status'] = {};
      for (const g of fields(f.bytes)) {
        if (g.no === 2) status.message = text(g);
        else if (g.no === 3) status.code = Number(g.varint);
      }
      s.status = status;
    }
  }
  s.attributes = keyValues(buf, 9);
  return s;
}

/** An ExportTraceServiceRequest in the wire format, as OTLP/HTTP protobuf and OTLP/gRPC carry it. */
function decodeExportRequest(buf: Buffer): ExportRequest {
  return {
    resourceSpans: messages(buf, 1).map((rs) => ({
      resource: { attributes: messages(rs, 1).flatMap((r) => keyValues(r, 1)) },
      scopeSpans: messages(rs, 2).map((ss) => ({ spans: messages(ss, 2).map(span) })),
    })),
  };
}

function collect(body: ExportRequest, into: ReceivedSpan[]): void {
  for (const rs of body.resourceSpans ?? []) {
    const service = attributes(rs.resource?.attributes)['service.name'] as string | undefined;
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        into.push({
          traceId: String(s.traceId),
          spanId: String(s.spanId),
          parentSpanId: String(s.parentSpanId ?? ''),
          name: String(s.name),
          kind: Number(s.kind),
          status: (s.status as ReceivedSpan['status']) ?? {},
          attributes: attributes(s.attributes as KeyValue[]),
          service,
        });
      }
    }
  }
}

/** The gRPC method of OTLP's trace service; request and response stay bytes, decoded above. */
const traceService: ServiceDefinition = {
  Export: {
    path: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
    requestStream: false,
    responseStream: false,
    requestSerialize: (b: Buffer) => b,
    requestDeserialize: (b: Buffer) => b,
    responseSerialize: (b: Buffer) => b,
    responseDeserialize: (b: Buffer) => b,
  },
};

function metadataRecord(metadata: Metadata): Record<string, string> {
  return Object.fromEntries(Object.entries(metadata.getMap()).map(([k, v]) => [k, String(v)]));
}

/** Certificate files of a receiver that speaks TLS and asks every client for a certificate `ca` signed. */
export interface ReceiverTls {
  ca: string;
  cert: string;
  key: string;
}

/**
 * A real OTLP receiver on 127.0.0.1: OTLP/HTTP at POST /v1/traces, JSON or protobuf (gzip or
 * not), and OTLP/gRPC's TraceService/Export on a port of its own; plain text, or with `tls`
 * mutual TLS on both.
 */
export async function startOtlpReceiver(options: { tls?: ReceiverTls } = {}): Promise<OtlpReceiver> {
  const receiver = { spans: [] as ReceivedSpan[], requests: 0, exports: [] as ReceivedExport[], refusedHandshakes: 0 };
  const tls = options.tls && {
    ca: readFileSync(options.tls.ca),
    cert: readFileSync(options.tls.cert),
    key: readFileSync(options.tls.key),
  };
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces') {
        res.writeHead(404).end();
        return;
      }
      receiver.requests += 1;
      try {
        let bytes = Buffer.concat(chunks);
        if (req.headers['content-encoding'] === 'gzip') bytes = gunzipSync(bytes);
        const type = String(req.headers['content-type']);
        const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
        if (type.startsWith('application/json')) {
          collect(JSON.parse(bytes.toString('utf8')) as ExportRequest, receiver.spans);
          receiver.exports.push({ protocol: 'http/json', headers });
          res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        } else if (type.startsWith('application/x-protobuf')) {
          collect(decodeExportRequest(bytes), receiver.spans);
          receiver.exports.push({ protocol: 'http/protobuf', headers });
          // An empty ExportTraceServiceResponse: everything accepted.
          res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
        } else {
          throw new Error(`neither JSON nor protobuf: ${type}`);
        }
      } catch (err) {
        res.writeHead(400, { 'content-type': 'text/plain' }).end(String(err));
      }
    });
  };
  const server: Server = tls
    ? createTlsServer({ ...tls, requestCert: true, rejectUnauthorized: true }, handle).on('tlsClientError', () => {
        receiver.refusedHandshakes += 1;
      })
    : createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const grpc = new GrpcServer();
  grpc.addService(traceService, {
    Export: (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => {
      receiver.requests += 1;
      try {
        collect(decodeExportRequest(call.request), receiver.spans);
        receiver.exports.push({ protocol: 'grpc', headers: metadataRecord(call.metadata) });
        callback(null, Buffer.alloc(0));
      } catch (err) {
        callback({ code: grpcStatus.INVALID_ARGUMENT, details: String(err) });
      }
    },
  });
  const grpcPort = await new Promise<number>((resolve, reject) =>
    grpc.bindAsync(
      '127.0.0.1:0',
      tls
        ? ServerCredentials.createSsl(tls.ca, [{ private_key: tls.key, cert_chain: tls.cert }], true)
        : ServerCredentials.createInsecure(),
      (err, p) => (err ? reject(err) : resolve(p)),
    ),
  );

  return Object.assign(receiver, {
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    grpcUrl: `${tls ? 'https' : 'http'}://127.0.0.1:${grpcPort}`,
    close: async () => {
      await new Promise<void>((resolve) => grpc.tryShutdown(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  });
}
