"""History channels (PROTOCOL.md §9) against a real gateway: the SDK remembers each channel's position and, when
the connection drops and comes back, gets exactly what it missed, or is told it must reload (recovered False)."""

import json
import queue
import time
import urllib.request

import pytest

import exp
from exp.server import Server
from gateway import Gateway
from tcp_proxy import TcpProxy

HISTORY = [{"prefix": "chat-", "size": 50, "ttlSeconds": 60}, {"prefix": "tiny-", "size": 2, "ttlSeconds": 60}]


@pytest.fixture
def history_gateway(tmp_path):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"logLevel": "warn", "apps": [{"id": "app-id", "key": "app-key", "secret": "app-secret", "history": HISTORY}]}))
    gw = Gateway(str(config), log_dir=str(tmp_path)).start()
    yield gw
    gw.stop()


def connections(gw):
    with urllib.request.urlopen(gw.http_url + "/") as answer:
        return json.loads(answer.read())["connections"]


def test_resumes_history_channels_after_a_dropped_connection_without_application_code(history_gateway):
    gw = history_gateway
    proxy = TcpProxy(gw.port)
    client = exp.Client(url="ws://127.0.0.1:%d" % proxy.port, key="app-key", min_backoff=0.05, max_backoff=0.3)
    subscribed, offline = queue.Queue(), queue.Queue()
    client.on("subscribed", subscribed.put)
    client.on("offline", lambda: offline.put(True))
    rest = Server(gw.http_url, "app-id", "app-key", "app-secret")
    try:
        client.start()
        chat = client.get_channel("chat-room").listen("message")
        tiny = client.get_channel("tiny-room").listen("message")
        first = [subscribed.get(timeout=5), subscribed.get(timeout=5)]
        assert [s.was_recovering for s in first] == [False, False]
        for n in (1, 2, 3):
            rest.trigger("chat-room", "message", {"n": n})
        rest.trigger("tiny-room", "message", {"n": 1})
        got = [chat.wait(5) for _ in range(3)]
        assert [b.payload["n"] for b in got] == [1, 2, 3]
        assert [b.offset for b in got] == [1, 2, 3]
        assert tiny.wait(5).payload == {"n": 1}

        proxy.cut()
        assert offline.get(timeout=5)
        deadline = time.monotonic() + 5
        while connections(gw) > 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        for n in range(4, 9):
            rest.trigger("chat-room", "message", {"n": n})
        for n in range(2, 6):
            rest.trigger("tiny-room", "message", {"n": n})
        again = {s.channel: s for s in (subscribed.get(timeout=10), subscribed.get(timeout=10))}
        assert again["chat-room"].was_recovering and again["chat-room"].recovered
        assert again["tiny-room"].was_recovering and not again["tiny-room"].recovered, "the app reloads tiny-room"
        assert again["tiny-room"].position["offset"] == 5
        rest.trigger("chat-room", "message", {"n": 9})
        assert [chat.wait(5).payload["n"] for _ in range(6)] == [4, 5, 6, 7, 8, 9]
        assert chat.wait(0) is None, "each event once"
        assert tiny.wait(0) is None, "nothing partial"
        assert client.get_channel("chat-room").position["offset"] == 9

        page = rest.history("chat-room", since=7, epoch=again["chat-room"].position["epoch"])
        assert page["recovered"] is True
        assert [json.loads(e["data"])["n"] for e in page["events"]] == [8, 9]
    finally:
        client.stop()
        proxy.close()
