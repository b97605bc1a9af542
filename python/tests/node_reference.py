"""Runs the TypeScript implementation (the built dist/) in a node child process, so the Python tests compare
against what the gateway itself computes today rather than against copied values that could drift."""

import json
import os
import subprocess

from gateway import ROOT

READ_STDIN = "const input = JSON.parse(await new Promise((resolve) => { let s = ''; process.stdin.on('data', (d) => (s += d)); process.stdin.on('end', () => resolve(s)); }));"


def dist_url(relative):
    return "file://" + os.path.join(ROOT, "dist", relative)


def run_node(body, payload):
    """Runs `body` (an ES module body that has `input` and prints JSON) with `payload` as `input`."""
    done = subprocess.run(
        ["node", "--input-type=module", "-e", READ_STDIN + body],
        input=json.dumps(payload).encode("utf-8"),
        capture_output=True,
        cwd=ROOT,
        timeout=30,
    )
    if done.returncode != 0:
        raise AssertionError("node failed: %s" % done.stderr.decode("utf-8", "replace"))
    return json.loads(done.stdout.decode("utf-8"))
