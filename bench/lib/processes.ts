// Orchestrator-side handles on the processes of a benchmark run: one server and a pool of client processes.
import { type ChildProcess, fork } from 'node:child_process';
import type { ClientCommand, ClientReply } from '../load/protocol.js';
import type { ServerCommand, ServerReply } from '../servers/control.js';

const here = new URL('..', import.meta.url);

type Pending = { resolve: (reply: Extract<ClientReply, { type: 'done' }>) => void; reject: (error: Error) => void };

/** Spawns a benchmark script of this folder (compiled, beside this file) with an IPC channel. */
function spawn(script: string, execArgv: string[] = [], env: NodeJS.ProcessEnv = {}): ChildProcess {
  return fork(new URL(script, here), [], { execArgv, env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
}

export interface ServerHandle {
  readonly pid: number;
  readonly port: number;
  /** Publishes `count` stamped events round-robin over `channels` inside the server process. */
  publish(channels: string[], count: number, payloadBytes: number): Promise<void>;
  /** A full garbage collection in the server, before its memory is read; resolves to its JS heap in use. */
  collectGarbage(): Promise<number>;
  stop(): Promise<void>;
}

export async function startServer(kind: string, env: NodeJS.ProcessEnv = {}): Promise<ServerHandle> {
  // BENCH_SERVER_ARGS adds Node options to the servers, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
  const extra = process.env.BENCH_SERVER_ARGS?.split(' ').filter(Boolean) ?? [];
  const child = spawn(`servers/${kind}.js`, ['--expose-gc', ...extra], env);
  const waiting = new Map<number, (heapUsed: number) => void>();
  let nextId = 0;
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`server ${kind} exited (${code}) before listening`)));
    child.on('message', (reply: ServerReply) => {
      if (reply.type === 'listening') resolve(reply.port);
      else if (reply.type === 'error') reject(new Error(`server ${kind}: ${reply.message}`));
      else waiting.get(reply.id)?.(reply.heapUsed ?? 0);
    });
  });
  const ask = (command: (id: number) => ServerCommand) =>
    new Promise<number>((resolve) => {
      const id = nextId++;
      waiting.set(id, (heapUsed) => {
        waiting.delete(id);
        resolve(heapUsed);
      });
      child.send(command(id));
    });
  return {
    pid: child.pid as number,
    port,
    publish: async (channels, count, payloadBytes) => {
      await ask((id) => ({ type: 'publish', id, channels, count, payloadBytes }));
    },
    collectGarbage: () => ask((id) => ({ type: 'gc', id })),
    stop: () => stop(child),
  };
}

/** How long a process may take to exit once its IPC channel closes (writing a --cpu-prof profile, say). */
const EXIT_GRACE_MS = 3000;

/** Closes the IPC channel, which the benchmark's processes exit on; kills what is still there after a grace. */
function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), EXIT_GRACE_MS);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.disconnect();
  });
}

/** Client processes; commands go to all of them and their answers are combined. */
export class ClientPool {
  private readonly pending = new Map<string, Pending>();
  private nextId = 0;

  private constructor(private readonly children: ChildProcess[]) {
    children.forEach((child, index) => {
      child.on('message', (reply: ClientReply) => {
        if (reply.type === 'error') {
          for (const waiter of this.pending.values()) waiter.reject(new Error(`client process: ${reply.message}`));
          this.pending.clear();
        } else if (reply.type === 'done') {
          const key = `${index}:${reply.id}`;
          this.pending.get(key)?.resolve(reply);
          this.pending.delete(key);
        }
      });
    });
  }

  static async start(processes: number): Promise<ClientPool> {
    const children = Array.from({ length: processes }, () => spawn('load/clients.js'));
    await Promise.all(children.map((child) => new Promise((resolve) => child.once('message', resolve))));
    return new ClientPool(children);
  }

  get size(): number {
    return this.children.length;
  }

  /** Opens connections, one per entry of `channels`, spread evenly over the processes. */
  async open(url: string, channels: string[][], { measureLatency = false, respond = false } = {}): Promise<void> {
    const shares = this.children.map((_, i) => channels.filter((__, j) => j % this.children.length === i));
    await Promise.all(shares.map((share, i) => this.ask(i, (id) => ({ type: 'open', id, url, channels: share, measureLatency, respond }))));
  }

  /** Messages received so far by all processes, and their CPU time in µs. */
  async counts(): Promise<{ messages: number; cpuMicros: number }> {
    const replies = await this.all((id) => ({ type: 'counts', id }));
    return {
      messages: replies.reduce((total, r) => total + (r.messages ?? 0), 0),
      cpuMicros: replies.reduce((total, r) => total + (r.cpuMicros ?? 0), 0),
    };
  }

  async latencies(): Promise<number[]> {
    return (await this.all((id) => ({ type: 'latencies', id }))).flatMap((r) => r.latencies ?? []);
  }

  async closeAll(): Promise<void> {
    await this.all((id) => ({ type: 'close', id }));
  }

  /** `cycles` connect-subscribe-disconnect cycles, split over the processes. */
  async churn(url: string, cycles: number, concurrency: number): Promise<void> {
    const share = Math.ceil(cycles / this.children.length);
    await this.all((id) => ({ type: 'churn', id, url, cycles: share, concurrency }));
  }

  async stop(): Promise<void> {
    await Promise.all(this.children.map(stop));
  }

  private all(command: (id: number) => ClientCommand): Promise<Array<Extract<ClientReply, { type: 'done' }>>> {
    return Promise.all(this.children.map((_, i) => this.ask(i, command)));
  }

  private ask(index: number, command: (id: number) => ClientCommand): Promise<Extract<ClientReply, { type: 'done' }>> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(`${index}:${id}`, { resolve, reject });
      this.children[index]?.send(command(id));
    });
  }
}
