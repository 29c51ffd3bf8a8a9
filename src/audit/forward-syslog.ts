import net from 'node:net';

/** One audit record as the forwarder sends it. */
export interface ForwardedRecord {
  id: number;
  username: string;
  operation: string;
  resourceType: string;
  resource: string;
  result: string;
  projectId: number | null;
  clientIp: string;
  opTime: string;
  /** The operation in words, as /auditlog-exts shows it. */
  description: string;
}

export interface SyslogHeader {
  hostname: string;
  appName: string;
  procId: string;
}

/** RFC 5424's facility 13, "log audit". */
const facility = 13;
const severityInfo = 6;
const severityWarning = 4;

/** RFC 5424 header fields: printable US-ASCII without spaces, at most `max` characters, "-" when empty. */
function headerField(value: string, max: number): string {
  const clean = value.replace(/[^\x21-\x7e]/g, '').slice(0, max);
  return clean === '' ? '-' : clean;
}

/**
 * The record as an RFC 5424 message: PRI (facility log audit; severity informational, or
 * warning for a failed operation), version 1, the record's time, host, app name (`audit`, the
 * tag Harbor's forwarder uses), process id, the event type as MSGID, no structured data, and
 * Harbor's text: `[operator=… resourceType=… time=…]: action:…, resource:…, operation_description:…`
 * followed by Berth's extra fields.
 */
export function formatSyslogMessage(record: ForwardedRecord, header: SyslogHeader): string {
  const severity = record.result === 'success' ? severityInfo : severityWarning;
  const time = Number.isNaN(Date.parse(record.opTime)) ? '-' : new Date(record.opTime).toISOString();
  const msgId = headerField(`${record.operation}_${record.resourceType}`, 32);
  const fields = `[operator=${JSON.stringify(record.username)} resourceType=${JSON.stringify(record.resourceType)} time=${JSON.stringify(record.opTime)}]`;
  const text =
    `${fields}: action:${record.operation}, resource:${record.resource}, operation_description:${record.description}, ` +
    `result:${record.result}, id:${record.id}, project_id:${record.projectId ?? ''}, client_ip:${record.clientIp}`;
  return (
    `<${facility * 8 + severity}>1 ${time} ${headerField(header.hostname, 255)} ${headerField(header.appName, 48)} ` +
    `${headerField(header.procId, 128)} ${msgId} - ${text.replace(/[\r\n]+/g, ' ')}`
  );
}

/** RFC 6587 octet counting: the message's length in bytes, a space, the message. */
export function frameOctetCounted(message: string): Buffer {
  const body = Buffer.from(message, 'utf8');
  return Buffer.concat([Buffer.from(`${body.length} `, 'ascii'), body]);
}

/** host:port (a name, an IPv4 address, or [IPv6]); an optional tcp:// in front is accepted. */
export function parseEndpoint(endpoint: string): { host: string; port: number } {
  const text = endpoint.trim().replace(/^tcp:\/\//i, '');
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:/\s[\]]+)):(\d{1,5})$/.exec(text);
  const port = match ? Number(match[3]) : NaN;
  if (!match || port < 1 || port > 65535) {
    throw new Error(
      `audit.forward_endpoint must be host:port of a syslog server (TCP), such as syslog.example.com:514, not ${JSON.stringify(endpoint)}`,
    );
  }
  return { host: match[1] ?? match[2], port };
}

/**
 * One TCP connection to the syslog server, opened when needed. A connection the server
 * closed (or that failed) is dropped, so the next send opens a new one rather than writing
 * into a connection whose data would be lost.
 */
export class SyslogTcpClient {
  private socket: net.Socket | null = null;
  private closed = false;

  constructor(
    private readonly endpoint: { host: string; port: number },
    private readonly timeoutMs: number,
  ) {}

  /** Sends the frames; resolves once the system has taken all of them, rejects on any failure (the connection is then dropped). */
  async send(frames: Buffer[]): Promise<void> {
    if (this.closed) throw new Error('the audit forwarder is stopping');
    const socket = this.socket ?? (await this.connect());
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`the syslog server took more than ${this.timeoutMs} ms to accept the records`)),
          this.timeoutMs,
        );
        const failed = (err: Error) => {
          clearTimeout(timer);
          reject(err);
        };
        socket.once('error', failed);
        socket.write(Buffer.concat(frames), (err) => {
          clearTimeout(timer);
          socket.off('error', failed);
          if (err) reject(err);
          else resolve();
        });
      });
      if (socket.destroyed || this.socket !== socket) throw new Error('the syslog server closed the connection');
    } catch (err) {
      this.drop(socket);
      throw err;
    }
  }

  /** Ends the connection for good: later sends fail. */
  close(): void {
    this.closed = true;
    if (this.socket) this.drop(this.socket);
  }

  private connect(): Promise<net.Socket> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: this.endpoint.host, port: this.endpoint.port });
      socket.setNoDelay(true);
      socket.setKeepAlive(true, 30_000);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(
          new Error(`connecting to the syslog server ${this.endpoint.host}:${this.endpoint.port} took more than ${this.timeoutMs} ms`),
        );
      }, this.timeoutMs);
      socket.once('error', (err) => {
        clearTimeout(timer);
        socket.destroy();
        reject(err);
      });
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        // A syslog server sends nothing; whatever comes is ignored, an end or an error ends the connection.
        socket.on('data', () => undefined);
        socket.on('end', () => this.drop(socket));
        socket.on('error', () => this.drop(socket));
        socket.on('close', () => this.drop(socket));
        if (this.closed) {
          socket.destroy();
          reject(new Error('the audit forwarder is stopping'));
          return;
        }
        this.socket = socket;
        resolve(socket);
      });
    });
  }

  private drop(socket: net.Socket): void {
    if (this.socket === socket) this.socket = null;
    socket.destroy();
  }
}
