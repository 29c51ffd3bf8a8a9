import net from 'node:net';

/**
 * A real syslog receiver on 127.0.0.1 (RFC 5425/6587 octet counting over TCP): records every
 * message, can be stopped (connections cut) and started again on the same port.
 */
export class SyslogListener {
  readonly messages: string[] = [];
  /** Bytes that did not parse as a frame (should stay empty). */
  readonly garbage: string[] = [];
  private server: net.Server | null = null;
  private readonly sockets = new Set<net.Socket>();
  port = 0;

  async start(): Promise<void> {
    const server = net.createServer((socket) => {
      this.sockets.add(socket);
      let buffer = Buffer.alloc(0);
      socket.on('data', (chunk) => {
        buffer = Buffer.concat([buffer, chunk]);
        for (;;) {
          const space = buffer.indexOf(0x20);
          if (space < 0) break;
          const lengthText = buffer.subarray(0, space).toString('ascii');
          if (!/^[1-9]\d*$/.test(lengthText)) {
            this.garbage.push(buffer.toString('utf8'));
            buffer = Buffer.alloc(0);
            break;
          }
          const length = Number(lengthText);
          if (buffer.length < space + 1 + length) break;
          this.messages.push(buffer.subarray(space + 1, space + 1 + length).toString('utf8'));
          buffer = buffer.subarray(space + 1 + length);
        }
      });
      socket.on('error', () => undefined);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as net.AddressInfo).port;
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const socket of this.sockets) socket.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  get endpoint(): string {
    return `127.0.0.1:${this.port}`;
  }
}

/** An RFC 5424 message's parts (no structured data, as Berth sends). */
export function parseRfc5424(message: string) {
  const m = /^<(\d{1,3})>1 (\S+) (\S+) (\S+) (\S+) (\S+) (-|\[.*?\]) (.*)$/s.exec(message);
  if (!m) throw new Error(`not an RFC 5424 message: ${message}`);
  return { pri: Number(m[1]), timestamp: m[2], hostname: m[3], appName: m[4], procId: m[5], msgId: m[6], sd: m[7], msg: m[8] };
}
