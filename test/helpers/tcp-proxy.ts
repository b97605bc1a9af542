import { connect, createServer, type Socket } from 'node:net';
import type { Test } from 'tap';

/** A TCP proxy to a local port whose connections a test can cut, as a network that drops does. */
export interface TcpProxy {
  readonly port: number;
  /** Drops every connection through the proxy (both sides see it go); new ones are proxied again. */
  cut(): void;
}

export async function startTcpProxy(t: Test, targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => {}); // a cut or a closed end is the point, not a failure
      socket.on('close', () => {
        sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const cut = () => {
    for (const socket of sockets) socket.destroy();
  };
  t.teardown(() => {
    cut();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { port: (server.address() as { port: number }).port, cut };
}
