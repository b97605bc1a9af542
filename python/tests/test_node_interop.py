"""The Node SDK (dist/src/client) and this SDK answer each other's broadcasts through the gateway, on a plain
channel and on consumer channels named by their channel IDs (one with a non-ASCII name)."""

import json
import os
import select
import subprocess
import time

import pytest

from gateway import ROOT

HERE = os.path.dirname(os.path.abspath(__file__))
CLIENT = "file://" + os.path.join(ROOT, "dist", "src", "client", "index.js")


class Lines:
    """Lines of a child's stdout, each awaited with a deadline so a stuck child fails the test, not hangs it."""

    def __init__(self, stream):
        self.stream, self.buffer = stream, b""

    def next(self, timeout=10):
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buffer:
            remaining = deadline - time.monotonic()
            readable = select.select([self.stream], [], [], max(0, remaining))[0] if remaining > 0 else []
            if not readable:
                raise AssertionError("no line from the node peer within %g s: %r" % (timeout, self.buffer))
            chunk = os.read(self.stream.fileno(), 65536)
            if not chunk:
                raise AssertionError("the node peer ended its output: %r" % self.buffer)
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line.decode("utf-8")


@pytest.mark.parametrize("name, consumer", [("interop", False), ("interop", True), ("café-interop", True)])
def test_node_and_python_answer_each_other(gateway, connect, name, consumer):
    client = connect()
    channel = client.get_channel(name, consumer=consumer)
    channel.listen("ask-python", callback=lambda b: b.respond({"from": "python", "heard": b.payload}))
    node = subprocess.Popen(
        ["node", os.path.join(HERE, "node_peer.mjs"), CLIENT, gateway.url + "/app/app-key", name, "consumer" if consumer else "plain"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        cwd=ROOT,
    )
    lines = Lines(node.stdout)
    try:
        assert lines.next().split() == ["READY", channel.wire]
        assert channel.broadcast("ask-node", {"q": "é?"}, timeout=0.3) == [{"from": "node", "heard": {"q": "é?"}}]
        node.stdin.write((json.dumps({"name": "ask-python", "payload": [1, "two"], "timeout": 300}) + "\n").encode("utf-8"))
        node.stdin.flush()
        assert json.loads(lines.next()) == [{"from": "python", "heard": [1, "two"]}]
    finally:
        node.stdin.close()
        try:
            node.wait(timeout=10)
        except subprocess.TimeoutExpired:
            node.kill()
            node.wait()
        node.stdout.close()
    assert node.returncode == 0
