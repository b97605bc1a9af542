"""The examples in python/examples (the seed's, translated) run against the gateway and print what the seed
says they do."""

import os
import select
import subprocess
import sys
import time

import pytest

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")


@pytest.fixture
def run(gateway):
    env = dict(os.environ, EXP_URL=gateway.url, EXP_TIMEOUT="0.5", PYTHONPATH=os.path.dirname(EXAMPLES))
    processes = []

    def start(name):
        process = subprocess.Popen([sys.executable, "-u", os.path.join(EXAMPLES, name)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        processes.append(process)
        return Output(process)

    yield start
    for process in processes:
        if process.poll() is None:
            process.terminate()
        process.wait(10)
        process.stdout.close()


class Output:
    def __init__(self, process):
        self.process = process
        self.text = ""

    def until(self, line, timeout=10):
        """Reads until `line` has been printed; fails (with the output so far) after `timeout`."""
        deadline = time.monotonic() + timeout
        while line + "\n" not in self.text:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([self.process.stdout], [], [], remaining)[0]:
                raise AssertionError("no %r within %g s; output: %s" % (line, timeout, self.text))
            chunk = os.read(self.process.stdout.fileno(), 65536)
            if not chunk:
                raise AssertionError("the example ended without %r; output: %s" % (line, self.text))
            self.text += chunk.decode("utf-8")
        return self

    def finished(self, timeout=10):
        """Reads to the end and returns the output; fails unless the example exits with 0."""
        self.until_end(timeout)
        assert self.process.wait(timeout) == 0, self.text
        return self.text

    def until_end(self, timeout):
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([self.process.stdout], [], [], remaining)[0]:
                raise AssertionError("the example did not finish within %g s; output: %s" % (timeout, self.text))
            chunk = os.read(self.process.stdout.fileno(), 65536)
            if not chunk:
                return
            self.text += chunk.decode("utf-8")


def test_broadcast_listen_and_respond_examples(run):
    responder = run("respond.py").until("Listening.")
    listener = run("listen.py").until("Listening.")
    assert run("broadcast.py").finished() == "Nice to meet you!\n"
    assert listener.finished() == "Listening.\nMessage received!\nhello\n"
    responder.until("Responding to broadcast.")


def test_runtime_example(run):
    assert run("runtime.py").finished() == (
        "Bad option: username\nOnline!\nAlready started: Runtime already started.\nOffline!\n"
    )


def test_consumer_example(run):
    output = run("consumer.py").finished()
    assert output == (
        "Consumer channel ID: WyJhcHAtaWQiLCJteV9jaGFubmVsIiwwLDFd\n"
        "Responses: ['Hello, consumer device!']\n"
        "Refused on a non-consumer channel: 403 ConsumerChannelOnly\n"
        "Broadcast refused: 4309 ConsumerChannelOnly\n"
        "System channels are the backend's: 4310 SystemChannelReadOnly\n"
    )


def test_backend_example(run):
    output = run("backend.py").finished()
    assert "Responses: [{'applied': {'version': 2}}]\n" in output
    assert "Trigger: {}\n" in output
    assert "Auth: {'auth': 'app-key:" in output
