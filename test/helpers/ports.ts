import net from 'node:net';

/** A port the kernel just gave out and took back: for a server the test starts on it at once. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.unref();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/**
 * A port on 127.0.0.1 that refuses connections now and stays that way until the test listens
 * on it. It lies below Linux's ephemeral range (32768 and up), so no server bound to port 0
 * can take it meanwhile, and a connection to it can never meet itself (a client's own
 * ephemeral port equal to the closed port it dials), which a port just freed by the kernel can.
 */
export async function refusedPort(): Promise<number> {
  for (let tries = 0; tries < 50; tries++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (await refuses(port)) return port;
  }
  throw new Error('no refusing port found between 20000 and 32000 on 127.0.0.1');
}

/** http://127.0.0.1:<a refused port> */
export async function refusedUrl(): Promise<string> {
  return `http://127.0.0.1:${await refusedPort()}`;
}

function refuses(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });
}
