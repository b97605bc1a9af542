"""System and consumer channels, consumer keys, refusals as typed errors, and private and presence channels
through an authorizer, against the real gateway."""

import time

import pytest

import exp
from exp.server import Server


def test_flagged_channels_use_the_servers_canonical_wire_name(connect, rest):
    client = connect()
    channel = client.get_channel("lobby", consumer=True)
    assert channel.wire == "WyJhcHAtaWQiLCJsb2JieSIsMCwxXQ=="
    listener = channel.listen("who")
    assert channel.wire in rest.channels()["channels"]
    channel.broadcast("who", "me?", timeout=0)
    assert listener.wait(5).channel == channel.wire


def test_a_broadcast_on_a_system_channel_is_refused_with_4310(connect):
    channel = connect().get_channel("updates", system=True)
    began = time.monotonic()
    with pytest.raises(exp.ServerError) as raised:
        channel.broadcast("update", {"v": 1}, timeout=5)
    assert raised.value.code == 4310 and raised.value.name == "SystemChannelReadOnly"
    assert time.monotonic() - began < 2  # settles on the refusal, not the timeout


def test_clients_listen_on_system_channels_and_answer_the_backends_broadcasts(connect, rest):
    channel = connect().get_channel("updates", system=True)
    channel.listen("update", callback=lambda b: b.respond({"got": b.payload}))
    assert rest.broadcast({"name": "updates", "system": True}, "update", {"v": 2}, timeout_ms=300) == [{"got": {"v": 2}}]
    assert rest.broadcast(rest.channel_id("updates", system=True), "update", 3, timeout_ms=300) == [{"got": 3}]


def test_a_consumer_key_is_refused_on_a_non_consumer_channel(connect):
    consumer = connect(key="app-consumer-key")
    with pytest.raises(exp.ServerError) as raised:
        consumer.get_channel("staff-only").listen("x")
    assert (raised.value.status, raised.value.type) == (403, "ConsumerChannelOnly")
    with pytest.raises(exp.ServerError) as raised:
        consumer.get_channel("staff-only").broadcast("x", timeout=5)
    assert raised.value.code == 4309
    with pytest.raises(exp.ServerError) as raised:
        consumer.get_channel("alerts", system=True).listen("x")
    assert raised.value.status == 403
    assert consumer.is_online  # refusals leave the connection up


def test_consumer_and_trusted_clients_talk_on_consumer_channels(connect):
    trusted, consumer = connect(), connect(key="app-consumer-key")
    trusted.get_channel("kiosk", consumer=True).listen("hello", callback=lambda b: b.respond("from the app"))
    consumer.get_channel("kiosk", consumer=True).listen("hello", callback=lambda b: b.respond("from the kiosk"))
    answers = consumer.get_channel("kiosk", consumer=True).broadcast("hello", timeout=0.3)
    assert sorted(answers) == ["from the app", "from the kiosk"]
    assert sorted(trusted.get_channel("kiosk", consumer=True).broadcast("hello", timeout=0.3)) == ["from the app", "from the kiosk"]
    # The same name without the flag is another channel.
    assert trusted.get_channel("kiosk").broadcast("hello", timeout=0.1) == []


def test_a_refused_subscription_raises_the_gateways_reason_at_once(connect, gateway):
    tight = connect(key="tight-key", app_id="tight-id")  # two channels per connection
    tight.get_channel("one").listen("x")
    tight.get_channel("two").listen("x")
    began = time.monotonic()
    with pytest.raises(exp.ServerError) as raised:
        tight.get_channel("three").listen("x", timeout=5)
    assert (raised.value.status, raised.value.type) == (403, "TooManyChannels")
    with pytest.raises(exp.ServerError) as raised:
        connect().get_channel("not a valid name!").listen("x", timeout=5)
    assert (raised.value.status, raised.value.type) == (400, "InvalidChannel")
    assert time.monotonic() - began < 2


def test_a_refused_name_is_not_unsubscribed_so_its_error_cannot_hit_the_next_subscription(connect):
    client = connect()
    for _ in range(3):
        with pytest.raises(exp.ServerError):
            client.get_channel("bad name!").listen("x", timeout=5)
        assert client.get_channel("good-after-bad").listen("x", timeout=5).active


def test_a_subscription_that_is_never_answered_fails_at_its_deadline(connect):
    client = connect(listen_timeout=0.3)
    client._connection.send = lambda frame: True  # the subscribe is lost on the way
    began = time.monotonic()
    with pytest.raises(exp.NetworkError):
        client.get_channel("void").listen("x")
    assert 0.3 <= time.monotonic() - began < 2


def authorizer_for(secret):
    """An app's auth endpoint in miniature: signs with `secret`; presence members are named after the socket."""
    backend = Server("http://unused:1", "app-id", "app-key", secret)

    def authorize(socket_id, channel):
        parsed = exp.parse_channel_id(channel)
        name = parsed[1] if parsed else channel
        data = {"user_id": "u-" + socket_id, "user_info": {"name": "Py"}} if name.startswith("presence-") else None
        return backend.authorize_channel(socket_id, channel, data)

    return authorize


def test_private_and_presence_channels_through_an_authorizer(connect):
    client = connect(authorizer=authorizer_for("app-secret"))
    private = client.get_channel("private-room")
    private.listen("ask", callback=lambda b: b.respond("private answer"))
    assert private.broadcast("ask", timeout=0.2) == ["private answer"]
    presence = client.get_channel("presence-room")
    presence.listen("x")
    assert presence.members == {"u-" + client.socket_id: {"name": "Py"}}
    other = connect(authorizer=authorizer_for("app-secret"))
    other.get_channel("presence-room").listen("x")
    assert set(other.get_channel("presence-room").members) == {"u-" + client.socket_id, "u-" + other.socket_id}


def test_a_wrong_signature_is_an_auth_error_and_no_authorizer_an_options_error(connect):
    client = connect(authorizer=authorizer_for("not-the-secret"))
    with pytest.raises(exp.ServerError) as raised:
        client.get_channel("private-room").listen("x")
    assert (raised.value.status, raised.value.type) == (401, "AuthError")
    with pytest.raises(exp.OptionsError) as raised:
        connect().get_channel("private-room").listen("x")
    assert raised.value.option == "authorizer"


def test_private_consumer_channels_sign_the_channel_id(connect):
    client = connect(authorizer=authorizer_for("app-secret"))
    channel = client.get_channel("private-desk", consumer=True)
    channel.listen("ask", callback=lambda b: b.respond(b.channel))
    assert channel.broadcast("ask", timeout=0.2) == [channel.wire]
