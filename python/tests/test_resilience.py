"""Connection loss against a real gateway process: SIGKILL and restart on the same port, a paused gateway
that stops answering pings, a graceful restart (4200), a 4000-range close that must not be retried, and
every blocking call settling when the connection drops."""

import queue
import threading
import time

import pytest

import exp
from exp.server import Server, authenticate_user
from gateway import port_outside_ephemeral_range

FAST = {"min_backoff": 0.05, "max_backoff": 0.3}


def events_of(client):
    seen = queue.Queue()
    for event in ("online", "offline"):
        client.on(event, lambda event=event: seen.put(event))
    client.on("error", lambda error: seen.put(error))
    return seen


def online_client(own_gateway):
    """A gateway of the test's own on a port it can restart on, and a client connected to it, with its events."""
    port = port_outside_ephemeral_range()
    gw = own_gateway(port=port)
    client = exp.Client(url=gw.url, key="app-key", **FAST)
    seen = events_of(client)
    client.start()
    assert seen.get(timeout=5) == "online"
    return port, gw, client, seen


def test_reconnects_after_the_gateway_is_killed_and_restarted_and_listens_again(own_gateway):
    port, gw, client, seen = online_client(own_gateway)
    channel = client.get_channel("phoenix")
    listener = channel.listen("ping")
    gw.kill()
    assert seen.get(timeout=5) == "offline"
    assert not client.is_online
    own_gateway(port=port)
    assert seen.get(timeout=10) == "online"
    # The resubscribe went out before 'online'; this broadcast follows it on the same connection.
    assert channel.broadcast("ping", "again", timeout=0) == []
    assert listener.wait(5).payload == "again"
    Server("http://127.0.0.1:%d" % port, "app-id", "app-key", "app-secret").trigger("phoenix", "ping", "from rest")
    assert listener.wait(5).payload == "from rest"
    client.stop()


def test_a_missing_pong_is_a_lost_connection(own_gateway):
    gw = own_gateway(args=["--activity-timeout", "1"])
    client = exp.Client(url=gw.url, key="app-key", pong_timeout=0.3, handshake_timeout=1, **FAST)
    seen = events_of(client)
    client.start()
    assert seen.get(timeout=5) == "online"
    listener = client.get_channel("heartbeat").listen("beat")
    gw.pause()  # answers nothing: the client pings after 1 s of silence and gives up 0.3 s later
    began = time.monotonic()
    assert seen.get(timeout=5) == "offline"
    assert 1 <= time.monotonic() - began < 4
    gw.resume()
    assert seen.get(timeout=10) == "online"
    client.get_channel("heartbeat").broadcast("beat", 1, timeout=0)
    assert listener.wait(5).payload == 1
    client.stop()


def test_a_quiet_connection_stays_up_through_pings(own_gateway):
    gw = own_gateway(args=["--activity-timeout", "1", "--pong-timeout", "0.5"])
    client = exp.Client(url=gw.url, key="app-key", pong_timeout=0.5)
    seen = events_of(client)
    client.start()
    assert seen.get(timeout=5) == "online"
    with pytest.raises(queue.Empty):
        seen.get(timeout=2.5)  # two activity timeouts of silence: pings both ways, nothing lost
    assert client.is_online
    client.stop()


def test_a_graceful_restart_4200_reconnects(own_gateway):
    port, gw, client, seen = online_client(own_gateway)
    gw.stop()  # SIGTERM: the gateway sends 4200 and exits
    assert seen.get(timeout=5) == "offline"
    own_gateway(port=port)
    assert seen.get(timeout=10) == "online"
    client.stop()


def test_a_4000_range_close_is_not_retried(gateway):
    before = set(threading.enumerate())
    client = exp.Client(url=gateway.url, key="app-key", app_id="app-id", **FAST)
    seen = events_of(client)
    client.start()
    assert seen.get(timeout=5) == "online"
    # Sign in as a user (Pusher's signin), then have the backend terminate that user's connections: 4009.
    signin = authenticate_user("app-key", "app-secret", client.socket_id, {"id": "user-4009"})
    client._send({"event": "broadcastt:signin", "data": signin})
    channel = client.get_channel("terminated")
    channel.broadcast("sync", timeout=0)  # the sign-in is processed before this is answered
    Server(gateway.http_url, "app-id", "app-key", "app-secret").terminate_user_connections("user-4009")
    assert seen.get(timeout=5) == "offline"
    error = seen.get(timeout=5)
    assert isinstance(error, exp.ServerError) and error.code == 4009
    with pytest.raises(exp.ServerError):
        channel.broadcast("after", timeout=0)
    with pytest.raises(exp.ServerError):
        channel.listen("after")
    assert not client.is_online
    client.stop()
    assert set(threading.enumerate()) == before


def test_every_blocking_call_settles_when_the_connection_drops(own_gateway):
    gw = own_gateway()
    client = exp.Client(url=gw.url, key="app-key", listen_timeout=30, broadcast_grace=30, **FAST)
    client.start()
    listener = client.get_channel("settle").listen("x")
    sent = queue.Queue()
    client._connection.trace = lambda direction, frame: direction == "out" and sent.put(frame["event"])
    gw.pause()  # frames now go unanswered
    outcomes = {}

    def call(key, function):
        began = time.monotonic()
        try:
            outcomes[key] = function()
        except Exception as error:  # noqa: BLE001 - the test records what was raised
            outcomes[key] = error
        outcomes[key + " seconds"] = time.monotonic() - began

    workers = [
        threading.Thread(target=call, args=("broadcast", lambda: client.get_channel("settle").broadcast("x", timeout=20))),
        threading.Thread(target=call, args=("listen", lambda: client.get_channel("settle-too").listen("x"))),
        threading.Thread(target=call, args=("wait", lambda: listener.wait())),
    ]
    for worker in workers:
        worker.start()
    assert {sent.get(timeout=5), sent.get(timeout=5)} == {"broadcastt:broadcast", "broadcastt:subscribe"}
    with client._changed:
        assert client._changed.wait_for(lambda: listener._waiting == 1, 5)
    gw.kill()
    for worker in workers:
        worker.join(10)
    assert isinstance(outcomes["broadcast"], exp.NetworkError)
    assert isinstance(outcomes["listen"], exp.NetworkError)
    assert outcomes["wait"] is None
    assert max(outcomes[k + " seconds"] for k in ("broadcast", "listen", "wait")) < 5
    client.stop()


def test_every_blocking_call_settles_when_the_client_stops(connect):
    client = connect(listen_timeout=30)
    listener = client.get_channel("stopping").listen("x")
    outcomes = {}
    waiting = threading.Thread(target=lambda: outcomes.setdefault("wait", listener.wait()))
    broadcasting = threading.Thread(target=lambda: outcomes.setdefault("broadcast", _catch(lambda: client.get_channel("stopping").broadcast("x", timeout=20))))
    waiting.start()
    broadcasting.start()
    with client._changed:
        assert client._changed.wait_for(lambda: listener._waiting == 1 and len(client._broadcasts) == 1, 5)
    client.stop()
    waiting.join(5)
    broadcasting.join(5)
    assert outcomes["wait"] is None
    assert isinstance(outcomes["broadcast"], exp.RuntimeError)


def _catch(function):
    try:
        return function()
    except Exception as error:  # noqa: BLE001
        return error
