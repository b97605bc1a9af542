// A Node SDK client (dist/src/client/index.js) for the Python tests: it listens for `ask-node` on the
// channel given on the command line and answers every broadcast; each line on stdin is a broadcast
// {name, payload, timeout} it sends, printing the responses as one JSON line. It prints READY once listening.
import { createInterface } from 'node:readline';

const [clientModule, url, name, consumer] = process.argv.slice(2);
const { start } = await import(clientModule);
const exp = start({ url, key: 'app-key', appId: 'app-id' });
exp.on('error', (error) => {
  process.stderr.write(`node peer: ${error}\n`);
  process.exit(1);
});
const channel = exp.getChannel(name, { consumer: consumer === 'consumer' });
await channel.listen('ask-node', (payload, respond) => respond({ from: 'node', heard: payload }));
process.stdout.write(`READY ${channel.wire}\n`);

for await (const line of createInterface({ input: process.stdin })) {
  const { name: event, payload, timeout } = JSON.parse(line);
  const responses = await channel.broadcast(event, payload, timeout);
  process.stdout.write(`${JSON.stringify(responses)}\n`);
}
exp.stop();
