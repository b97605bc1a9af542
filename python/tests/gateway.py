"""The gateway CLI as a child process, started the way users start it (`node dist/src/main.js`), on
127.0.0.1 and a port it reports in its banner ("broadcastt gateway listening on 127.0.0.1:PORT")."""

import os
import random
import re
import select
import signal
import socket
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MAIN = os.path.join(ROOT, "dist", "src", "main.js")
BANNER = re.compile(r"listening on 127\.0\.0\.1:(\d+)")
START_TIMEOUT = 15.0


def port_outside_ephemeral_range():
    """A free port below the kernel's ephemeral range (as test/helpers/cli.ts picks one): a client that
    keeps reconnecting to a restarted gateway could otherwise be handed that very port as its source port,
    connect to itself, and keep the gateway from binding it."""
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        low = int(f.read().split()[0])
    top = min(low, 32768)
    while True:
        port = random.randrange(10000, top)
        probe = socket.socket()
        try:
            probe.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            probe.close()


class Gateway:
    def __init__(self, config_file, port=0, args=(), log_dir=None):
        self.config_file = config_file
        self.requested_port = port
        self.args = list(args)
        self.log_dir = log_dir
        self.process = None
        self.port = None
        self._log = None

    @property
    def url(self):
        return "ws://127.0.0.1:%d" % self.port

    @property
    def http_url(self):
        return "http://127.0.0.1:%d" % self.port

    def start(self):
        command = ["node", MAIN, "--config", self.config_file, "--host", "127.0.0.1", "--port", str(self.requested_port)] + self.args
        self._log = open(os.path.join(self.log_dir, "gateway-%d.log" % time.time_ns()), "wb") if self.log_dir else subprocess.DEVNULL
        self.process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=self._log)
        self.port = self._read_port()
        return self

    def _read_port(self):
        """Reads the banner from stdout until the port appears; fails after START_TIMEOUT, never hangs."""
        deadline = time.monotonic() + START_TIMEOUT
        text = b""
        stdout = self.process.stdout
        while True:
            match = BANNER.search(text.decode("utf-8", "replace"))
            if match:
                return int(match.group(1))
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.kill()
                raise RuntimeError("the gateway printed no 'listening on' line within %g s: %r" % (START_TIMEOUT, text))
            readable, _, _ = select.select([stdout], [], [], remaining)
            if readable:
                chunk = os.read(stdout.fileno(), 65536)
                if not chunk:
                    code = self.process.wait()
                    raise RuntimeError("the gateway exited with %s before listening: %r" % (code, text))
                text += chunk

    def kill(self):
        """SIGKILL: the process dies at once, its sockets are closed by the kernel without close frames."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def pause(self):
        """SIGSTOP: the gateway stops answering; connections stay open."""
        self.process.send_signal(signal.SIGSTOP)

    def resume(self):
        self.process.send_signal(signal.SIGCONT)

    def stop(self):
        """SIGTERM (the gateway closes clients with 4200 and exits), then SIGKILL if it lingers."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
        self.process.stdout.close()
        if self._log not in (None, subprocess.DEVNULL):
            self._log.close()
