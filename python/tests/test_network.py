"""Broadcasting, listening, waiting and responding against the real gateway: the seed's examples, queues
(bounded, expiring), wait() timeouts, cancel() unsubscribing, callbacks and payload copies."""

import threading
import time

import pytest

import exp


def test_seed_broadcast_listen_wait_respond(gateway):
    # "Broadcasting", "Listening" and "Responding" from the seed, in one process.
    exp.start(url=gateway.url, key="app-key", app_id="app-id")
    channel = exp.get_channel("my_channel", system=False, consumer=False)
    listener = channel.listen(name="my_event")

    def responder():
        broadcast = listener.wait(5)
        if broadcast and broadcast.payload == "hello":
            broadcast.respond("Nice to meet you!")
            broadcast.respond({"second": ["answer"]})

    thread = threading.Thread(target=responder)
    thread.start()
    began = time.monotonic()
    responses = channel.broadcast(name="my_event", timeout=0.3, payload="hello")
    elapsed = time.monotonic() - began
    thread.join()
    assert responses == ["Nice to meet you!", {"second": ["answer"]}]
    assert 0.3 <= elapsed < 2  # blocks about the timeout
    listener.cancel()


def test_a_broadcast_without_listeners_returns_an_empty_list(connect):
    assert connect().get_channel("nobody-here").broadcast("anyone", timeout=0.05) == []


def test_a_broadcast_without_a_timeout_uses_the_server_default(connect):
    client = connect()
    began = time.monotonic()
    assert client.get_channel("default-timeout").broadcast("x") == []
    assert time.monotonic() - began < 2  # the test app's broadcastTimeoutMs is 200


def test_wait_returns_none_after_its_timeout_and_zero_does_not_block(connect):
    listener = connect().get_channel("quiet").listen("nothing")
    began = time.monotonic()
    assert listener.wait(0.2) is None
    assert time.monotonic() - began >= 0.2
    began = time.monotonic()
    assert listener.wait(0) is None
    assert time.monotonic() - began < 0.1


def test_broadcasts_queue_while_nobody_waits_up_to_the_queue_limit(connect, rest):
    client = connect(queue_limit=3)
    channel = client.get_channel("queued")
    items = channel.listen("item")
    marker = channel.listen("marker")
    for n in range(5):
        rest.trigger("queued", "item", {"n": n})
    rest.trigger("queued", "marker", {})
    assert marker.wait(5) is not None  # frames arrive in order: every item is in by now
    got = [items.wait(0) for _ in range(4)]
    assert [b.payload["n"] for b in got[:3]] == [2, 3, 4]  # the oldest went first
    assert got[3] is None
    assert got[0].name == "item" and got[0].channel == "queued" and got[0].id is None


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_queued_broadcasts_expire_after_60_seconds(connect, rest):
    clock = FakeClock()
    client = connect(clock=clock)  # the default queue_max_age, 60 s, on a clock the test moves
    channel = client.get_channel("expiring")
    items = channel.listen("item")
    marker = channel.listen("marker")
    rest.trigger("expiring", "item", "old")
    rest.trigger("expiring", "marker", {})
    assert marker.wait(5) is not None
    clock.now += 59
    rest.trigger("expiring", "item", "new")
    rest.trigger("expiring", "marker", {})
    assert marker.wait(5) is not None
    clock.now += 2  # "old" is 61 s old, "new" 2 s
    assert items.wait(0).payload == "new"
    assert items.wait(0) is None


def test_queue_max_age_is_an_option(connect, rest):
    clock = FakeClock()
    client = connect(clock=clock, queue_max_age=1)
    items = client.get_channel("short-lived").listen("item")
    marker = client.get_channel("short-lived").listen("marker")
    rest.trigger("short-lived", "item", 1)
    rest.trigger("short-lived", "marker", {})
    assert marker.wait(5) is not None
    clock.now += 1.5
    assert items.wait(0) is None


def test_a_waiting_listener_gets_the_broadcast_the_moment_it_arrives(connect, rest):
    listener = connect().get_channel("direct").listen("now")
    result = []
    thread = threading.Thread(target=lambda: result.append(listener.wait(5)))
    thread.start()
    listener._client._changed.acquire()
    try:  # the waiter is registered before the event is published
        listener._client._changed.wait_for(lambda: listener._waiting == 1, 5)
    finally:
        listener._client._changed.release()
    rest.trigger("direct", "now", [1, 2])
    thread.join(5)
    assert result[0].payload == [1, 2]


def test_listeners_get_their_own_copy_of_each_payload(connect):
    client = connect()
    channel = client.get_channel("copies")
    first, second = channel.listen("data"), channel.listen("data")
    channel.broadcast("data", {"list": [1]}, timeout=0)
    a, b = first.wait(5), second.wait(5)
    a.payload["list"].append(2)
    assert b.payload == {"list": [1]}


def test_a_listener_without_a_name_hears_every_event(connect, rest):
    client = connect()
    every = client.get_channel("wild").listen()
    rest.trigger("wild", "one", 1)
    rest.trigger("wild", "two", 2)
    assert [(b.name, b.payload) for b in (every.wait(5), every.wait(5))] == [("one", 1), ("two", 2)]


def test_plain_events_cannot_be_answered(connect, rest):
    listener = connect().get_channel("plain-events").listen("news")
    rest.trigger("plain-events", "news", "hi")
    assert listener.wait(5).respond("answer") is False


def test_a_callback_listener_responds_on_the_callbacks_thread(connect):
    client = connect()
    threads = []

    def answer(broadcast):
        threads.append(threading.current_thread().name)
        broadcast.respond("called back: %s" % broadcast.payload)

    channel = client.get_channel("callbacks")
    channel.listen("ask", callback=answer)
    assert channel.broadcast("ask", "q", timeout=0.2) == ["called back: q"]
    assert threads == ["exp-callbacks"]


def test_cancelling_the_last_listener_unsubscribes(connect, rest):
    client = connect()
    channel = client.get_channel("leaving")
    first, second = channel.listen("a"), channel.listen("b")
    assert rest.channel("leaving", info="subscription_count") == {"occupied": True, "subscription_count": 1}
    first.cancel()
    assert channel.broadcast("b", "still here", timeout=0) == []  # frames are ordered: the cancel is done
    assert rest.channel("leaving")["occupied"] is True
    assert second.wait(5).payload == "still here"
    second.cancel()
    assert client.get_channel("elsewhere").broadcast("b", timeout=0) == []  # after the unsubscribe, in order
    assert rest.channel("leaving")["occupied"] is False
    assert second.wait(0) is None and not second.active


def test_many_listeners_on_one_connection_each_answer(connect):
    client = connect()
    channel = client.get_channel("three")
    for n in range(3):
        channel.listen("who", callback=lambda b, n=n: b.respond(n))
    assert sorted(channel.broadcast("who", timeout=0.3)) == [0, 1, 2]


def test_a_payload_that_is_not_json_is_a_type_error_in_the_caller(connect):
    with pytest.raises(TypeError):
        connect().get_channel("typed").broadcast("x", object(), timeout=0)


def test_the_pusher_dialect_works_too(connect):
    client = connect(dialect="pusher")
    channel = client.get_channel("dialects")
    channel.listen("ask", callback=lambda b: b.respond("pusher"))
    assert channel.broadcast("ask", timeout=0.2) == ["pusher"]


def test_an_absent_payload_is_an_empty_object_and_none_is_null(connect):
    client = connect()
    channel = client.get_channel("payloads")
    listener = channel.listen("p")
    channel.broadcast("p", timeout=0)
    channel.broadcast("p", None, timeout=0)
    assert [listener.wait(5).payload, listener.wait(5).payload] == [{}, None]

    def answer(broadcast):
        broadcast.respond()
        broadcast.respond(None)

    channel.listen("q", callback=answer)
    assert channel.broadcast("q", timeout=0.2) == [{}, None]


def test_a_backend_answers_over_http(connect, rest):
    client = connect()
    channel = client.get_channel("answered-by-http")
    channel.listen("ask", callback=lambda b: rest.respond(b.id, b.channel, {"via": "http"}))
    assert channel.broadcast("ask", timeout=0.3) == [{"via": "http"}]
