"""exp.start and the module runtime: options, already started, failing to connect, the online/offline
events, and stop() leaving no thread behind."""

import queue
import socket
import threading
import time

import pytest

import exp


def threads():
    return set(threading.enumerate())


def test_start_blocks_until_connected_and_stop_leaves_no_thread(gateway):
    before = threads()
    client = exp.start(url=gateway.url, key="app-key", app_id="app-id")
    assert client is exp.runtime.client
    assert exp.runtime.is_online
    assert exp.runtime.socket_id and exp.runtime.socket_id.count(".") == 1
    assert {t.name for t in threads() - before} == {"exp-network", "exp-callbacks"}
    channel = exp.get_channel("start-stop")
    listener = channel.listen("ping")
    assert channel.broadcast("ping", "x", timeout=0.05) == []
    assert listener.wait(1).payload == "x"
    exp.runtime.stop()
    assert threads() == before
    assert not listener.active
    with pytest.raises(exp.RuntimeError):
        exp.get_channel("after-stop")
    with pytest.raises(exp.RuntimeError):
        channel.broadcast("ping")


def test_start_twice_is_a_runtime_error_and_after_stop_starts_again(gateway):
    exp.start(url=gateway.url, key="app-key")
    with pytest.raises(exp.RuntimeError) as raised:
        exp.start(url=gateway.url, key="app-key")
    assert isinstance(raised.value, RuntimeError)  # also the builtin, as the seed's users catch it
    exp.runtime.stop()
    exp.start(url=gateway.url, key="app-key")
    assert exp.runtime.is_online


@pytest.mark.parametrize(
    "options, bad",
    [
        ({"key": "app-key"}, "url"),
        ({"url": "ws://127.0.0.1:1"}, "key"),
        ({"url": "ws://127.0.0.1:1", "key": "has space"}, "key"),
        ({"url": "ftp://127.0.0.1", "key": "k"}, "url"),
        ({"url": "ws://127.0.0.1:1", "key": "k", "timeout": -1}, "timeout"),
        ({"url": "ws://127.0.0.1:1", "key": "k", "timeout": "5"}, "timeout"),
        ({"url": "ws://127.0.0.1:1", "key": "k", "enable_network": "yes"}, "enable_network"),
        ({"url": "ws://127.0.0.1:1", "key": "k", "authorizer": "http://auth"}, "authorizer"),
        ({"url": "ws://127.0.0.1:1", "key": "k", "app_id": ""}, "app_id"),
        ({"url": "ws://127.0.0.1:1", "key": "k", "queue_limit": 1.5}, "queue_limit"),
        ({"url": "ws://127.0.0.1:1", "key": "k", "dialect": "socket.io"}, "dialect"),
        ({"url": "ws://127.0.0.1:1", "key": "k", "colour": "red"}, "colour"),
        ({"username": "joe@exp.com", "password": "x", "organization": "exp"}, "username"),
    ],
)
def test_bad_options_raise_options_error_naming_the_option(options, bad):
    before = threads()
    with pytest.raises(exp.OptionsError) as raised:
        exp.start(**options)
    assert raised.value.option == bad
    assert str(raised.value).startswith(bad + ":")
    assert exp.runtime.client is None
    assert threads() == before


def test_the_url_gets_the_app_path_and_the_dialect_query():
    assert exp.Client(url="ws://h:1", key="k").options.url == "ws://h:1/app/k"
    assert exp.Client(url="https://h", key="k").options.url == "wss://h/app/k"
    assert exp.Client(url="wss://h/apps/k2", key="k").options.url == "wss://h/apps/k2"
    assert exp.Client(url="ws://h:1/", key="k", dialect="pusher").options.url == "ws://h:1/app/k?protocol=7"


def test_start_raises_network_error_when_nothing_answers_within_the_timeout():
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    before = threads()
    began = time.monotonic()
    with pytest.raises(exp.NetworkError):
        exp.start(url="ws://127.0.0.1:%d" % port, key="app-key", timeout=0.5, min_backoff=0.05, max_backoff=0.1)
    assert 0.5 <= time.monotonic() - began < 3
    assert exp.runtime.client is None
    assert threads() == before


def test_a_refused_key_raises_the_server_error_at_once(gateway):
    began = time.monotonic()
    with pytest.raises(exp.ServerError) as raised:
        exp.start(url=gateway.url, key="no-such-key", timeout=10)
    assert raised.value.code == 4001 and raised.value.name == "AppNotFound"
    assert time.monotonic() - began < 5


def test_enable_network_false_connects_nothing_and_listen_times_out():
    before = threads()
    exp.start(url="ws://127.0.0.1:1", key="app-key", enable_network=False, listen_timeout=0.2)
    assert not exp.runtime.is_online
    began = time.monotonic()
    with pytest.raises(exp.NetworkError):
        exp.get_channel("nowhere").listen("x")
    assert time.monotonic() - began >= 0.2
    with pytest.raises(exp.NetworkError):
        exp.get_channel("nowhere").broadcast("x")
    exp.runtime.stop()
    assert threads() == before


def test_online_and_offline_callbacks_run_on_the_callbacks_thread(gateway):
    seen = queue.Queue()
    exp.runtime.on("online", lambda: seen.put(("online", threading.current_thread().name)))
    exp.start(url=gateway.url, key="app-key")
    exp.runtime.on(event="offline", callback=lambda: seen.put(("offline", threading.current_thread().name)))
    assert seen.get(timeout=5) == ("online", "exp-callbacks")
    exp.runtime.stop()
    assert seen.get(timeout=5) == ("offline", "exp-callbacks")


def test_stop_from_a_callback_does_not_deadlock(gateway):
    before = threads()
    client = exp.Client(url=gateway.url, key="app-key")
    stopped = threading.Event()

    def stop_now():
        client.stop()
        stopped.set()

    client.on("online", stop_now)
    client.start()
    assert stopped.wait(5)
    # The callbacks thread ends right after the callback that stopped it returns.
    for thread in threads() - before:
        thread.join(5)
    assert threads() == before


def test_flagged_channels_need_the_app_id(gateway):
    exp.start(url=gateway.url, key="app-key")
    assert exp.get_channel("plain").wire == "plain"
    with pytest.raises(exp.OptionsError) as raised:
        exp.get_channel("lobby", consumer=True)
    assert raised.value.option == "app_id"
