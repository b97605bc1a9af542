// What a user would write by hand: the `ws` package, a Map of channel → sockets, a loop of send per
// recipient (the frame encoded once), and node:http for publishing.
import { createServer } from 'node:http';
import { type WebSocket, WebSocketServer } from 'ws';
import { EVENTS_PATH, serve } from './control.js';

await serve(async () => {
  const channels = new Map<string, Set<WebSocket>>();
  let nextId = 0;
  const publish = (channel: string, event: string, data: string) => {
    const members = channels.get(channel);
    if (!members) return;
    const frame = JSON.stringify({ event, channel, data });
    for (const ws of members) ws.send(frame);
  };
  const http = createServer((req, res) => {
    if (req.method !== 'POST' || req.url?.split('?')[0] !== EVENTS_PATH) {
      res.writeHead(404).end();
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const { name, channel, data } = JSON.parse(Buffer.concat(chunks).toString()) as { name: string; channel: string; data: string };
      publish(channel, name, data);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  const wss = new WebSocketServer({ server: http, perMessageDeflate: false });
  wss.on('connection', (ws) => {
    const joined = new Set<string>();
    ws.send(JSON.stringify({ event: 'broadcastt:connection_established', data: JSON.stringify({ socket_id: `1.${++nextId}`, activity_timeout: 120 }) }));
    ws.on('message', (raw) => {
      const { event, data } = JSON.parse(raw.toString()) as { event: string; data: { channel: string } };
      if (event !== 'broadcastt:subscribe') return;
      let members = channels.get(data.channel);
      if (!members) channels.set(data.channel, (members = new Set()));
      members.add(ws);
      joined.add(data.channel);
      ws.send(JSON.stringify({ event: 'broadcastt_internal:subscription_succeeded', channel: data.channel, data: '{}' }));
    });
    ws.on('close', () => {
      for (const channel of joined) {
        const members = channels.get(channel);
        members?.delete(ws);
        if (members?.size === 0) channels.delete(channel);
      }
    });
  });
  const port = await new Promise<number>((resolve) => http.listen(0, '127.0.0.1', () => resolve((http.address() as { port: number }).port)));
  return { port, publish };
});
