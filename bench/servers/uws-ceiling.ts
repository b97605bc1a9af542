// The ceiling: the least a uWebSockets.js server can do to serve the benchmark's protocol subset — native
// topics, no validation, no auth, no liveness checks. The gateway is measured against this.
import uws from 'uWebSockets.js';
import { EVENTS_PATH, serve } from './control.js';

interface Socket {
  readonly id: number;
}

let nextId = 0;
const frame = (event: string, channel: string, data: string) => JSON.stringify({ event, channel, data });

await serve(async () => {
  const app = uws.App();
  const publish = (channel: string, event: string, data: string) => {
    app.publish(channel, frame(event, channel, data), false);
  };
  app.ws<Socket>('/*', {
    maxPayloadLength: 64 * 1024,
    maxBackpressure: 2 * 1024 * 1024,
    idleTimeout: 0,
    upgrade: (res, req, context) => {
      res.upgrade<Socket>(
        { id: ++nextId },
        req.getHeader('sec-websocket-key'),
        req.getHeader('sec-websocket-protocol'),
        req.getHeader('sec-websocket-extensions'),
        context,
      );
    },
    open: (ws) => {
      ws.send(JSON.stringify({ event: 'broadcastt:connection_established', data: JSON.stringify({ socket_id: `1.${ws.getUserData().id}`, activity_timeout: 120 }) }));
    },
    message: (ws, message) => {
      const { event, data } = JSON.parse(Buffer.from(message).toString()) as { event: string; data: { channel: string } };
      if (event !== 'broadcastt:subscribe') return;
      ws.subscribe(data.channel);
      ws.send(JSON.stringify({ event: 'broadcastt_internal:subscription_succeeded', channel: data.channel, data: '{}' }));
    },
  });
  app.post(EVENTS_PATH, (res) => {
    const chunks: Buffer[] = [];
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    res.onData((chunk, isLast) => {
      chunks.push(Buffer.from(chunk.slice(0)));
      if (!isLast || aborted) return;
      const { name, channel, data } = JSON.parse(Buffer.concat(chunks).toString()) as { name: string; channel: string; data: string };
      publish(channel, name, data);
      res.cork(() => res.writeHeader('content-type', 'application/json').end('{}'));
    });
  });
  const port = await new Promise<number>((resolve, reject) => {
    app.listen('127.0.0.1', 0, (socket) => (socket ? resolve(uws.us_socket_local_port(socket)) : reject(new Error('cannot listen'))));
  });
  return { port, publish };
});
