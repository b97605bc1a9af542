// The EXP SDK examples from the project's seed documents, translated to this SDK. Run against `npm start`:
//   node examples/sdk-seed-examples.mjs            (after npm run build; uses the demo app)
import { start } from '../dist/src/client/index.js';

const exp = start({ url: 'ws://localhost:6001/app/app-key', key: 'app-key', appId: 'app-id' });

// Channels: a name and two flags.
const channel = exp.getChannel('myChannel', { system: false, consumer: false });

// Responding: call the second argument of the listener callback.
await exp.getChannel('my_channel').listen('my_event', (payload, respond) => {
  if (payload === 'hello!') respond('hi there!');
});

// Broadcasting: resolves after about the timeout with the list of responses.
const responses = await exp.getChannel('my_channel').broadcast('my_event', 'hello!', 500);
responses.forEach((response) => console.log('response:', response));

// Listening: the listener resolves once listening has started; cancel stops the callback.
const listener = await channel.listen('myEvent', (payload) => {
  console.log('Event Received!', payload);
});
await channel.broadcast('myEvent', 'hello', 200);
listener.cancel();

// Waiting (the Python SDK's listener.wait): broadcasts queue while nobody waits.
const queued = await exp.getChannel('my_channel').listen('my_event');
await exp.getChannel('my_channel').broadcast('my_event', 'queued!', 100);
const broadcast = await queued.wait(5000);
if (broadcast) console.log('waited for:', broadcast.payload);
queued.cancel();

// Consumer channels are named by their channel ID.
console.log('consumer channel id:', exp.getChannel('myChannel', { consumer: true }).wire);

// Context based memory management: clone binds registrations to a context, clear removes them.
const exp1 = exp.clone('context 1');
const exp2 = exp.clone('context 2');
await exp1.getChannel('myChannelName').listen('myEventName', () => console.log('context 1 heard it'));
await exp2.getChannel('myChannelName').listen('myEventName', () => console.log('context 2 heard it (should not print)'));
exp2.clear(); // unregisters every listener exp2 attached
await exp.getChannel('myChannelName').broadcast('myEventName', {}, 200);

// Several independent instances: fork() gives an unstarted one.
const other = exp.fork();
other.start({ url: 'ws://localhost:6001/app/app-key', key: 'app-key' });
await new Promise((resolve) => other.on('online', resolve));
console.log('the fork is online on its own connection');

exp.stop(); // stops exp and all its clones
other.stop();
