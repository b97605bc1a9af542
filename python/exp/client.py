"""The EXP network SDK on the broadcastt protocol: one client is one connection, its channels, listeners and
waiting broadcasts (the Node SDK's Client + Runtime, with blocking calls instead of promises).

Threads: `exp-network` reads the socket and keeps it up (connection.py); `exp-callbacks` runs user callbacks
(online/offline/error handlers, listen callbacks) and private-channel authorizers, so neither can stall the
network. Every blocking call (start, listen, broadcast, wait) has a deadline and also returns when the
connection drops or the client stops. stop() ends both threads.
"""

import atexit
import collections
import json
import logging
import queue
import random
import threading
import time
import weakref

from .channel_id import parse_channel_id, wire_name
from .connection import Connection
from .errors import NetworkError, OptionsError, RuntimeError, ServerError
from .options import resolve_options

log = logging.getLogger("exp")

EVENTS = ("online", "offline", "error", "subscribed")

# The refusal type (protocol/errors.json) of a subscription that may be made again later.
HISTORY_UNAVAILABLE = "HistoryUnavailable"

# When a broadcast names no timeout the server uses the app's broadcastTimeoutMs (1 s unless configured),
# capped by maxBroadcastTimeoutMs (30 s unless configured): the SDK waits for at most that cap.
DEFAULT_BROADCAST_WAIT = 30.0

_live_clients = weakref.WeakSet()


class _Absent:
    """The default of optional payloads: leaves `payload` out of the frame, which the gateway reads as {}
    (as the Node SDK's undefined). An explicit None is sent as null."""

    def __repr__(self):
        return "<no payload>"


ABSENT = _Absent()


def _channel_type(name):
    for prefix, kind in (("private-encrypted-", "private-encrypted"), ("private-", "private"), ("presence-", "presence")):
        if name.startswith(prefix):
            return kind
    return "public"


class _Pending:
    """One answer awaited by a blocking call: `value` or `error` once `done`."""

    __slots__ = ("done", "value", "error")

    def __init__(self):
        self.done = False
        self.value = None
        self.error = None

    def settle(self, value=None, error=None):
        if not self.done:
            self.done, self.value, self.error = True, value, error


class _ChannelState:
    def __init__(self, wire):
        self.wire = wire
        parsed = parse_channel_id(wire)
        self.type = _channel_type(parsed[1] if parsed else wire)
        self.listeners = []
        self.subscribed = False
        self.requested = False  # a subscribe was sent on this connection and is not answered yet
        self.confirmations = []
        self.members = {}
        self.position = None  # history channels: {"epoch", "offset"} of the last answer and event received
        self.recovering = False  # the subscribe in flight asked to recover from `position`
        self.retry = None  # a threading.Timer making a subscribe refused for now (503) again
        self.retries = 0


class Subscription:
    """The detail of a 'subscribed' event, emitted at every subscription_succeeded (the first, and each one
    after a reconnect). `was_recovering`: the SDK asked for what it missed (a history channel it had a position
    in); then `recovered` says whether it got exactly that (True) or nothing (False: reload the channel's state).
    `position` is the client's place in the channel's stream as the answer arrives ({"epoch", "offset"}, or None
    on channels without history); when recovered, the missed events follow the answer."""

    __slots__ = ("channel", "was_recovering", "recovered", "position")

    def __init__(self, channel, was_recovering, recovered, position):
        self.channel = channel
        self.was_recovering = was_recovering
        self.recovered = recovered
        self.position = position

    def __repr__(self):
        return "Subscription(channel=%r, was_recovering=%r, recovered=%r, position=%r)" % (self.channel, self.was_recovering, self.recovered, self.position)


class Broadcast:
    """A broadcast (or plain event) as a listener receives it. `payload` is this listener's own copy."""

    __slots__ = ("id", "name", "channel", "payload", "user_id", "offset", "_client")

    def __init__(self, client, frame, payload):
        self._client = client
        self.id = frame.get("id")
        self.name = frame.get("event")
        self.channel = frame.get("channel")
        self.payload = payload
        self.user_id = frame.get("user_id")
        self.offset = frame.get("offset")  # on history channels: the event's place in the channel's stream

    def respond(self, payload=ABSENT):
        """Answers the broadcast (any number of times; each call is one response); without a payload the
        response is {}. Returns False when it cannot be sent: a plain event (no broadcast id) or no
        connection."""
        if self.id is None:
            return False
        data = {"id": self.id, "channel": self.channel}
        if payload is not ABSENT:
            data["payload"] = payload
        return self._client._send({"event": self._client._prefix + ":response", "data": data})

    def __repr__(self):
        return "Broadcast(name=%r, channel=%r, payload=%r, id=%r)" % (self.name, self.channel, self.payload, self.id)


class Listener:
    """One registration on a channel for one event name (or every event when `name` is None). Broadcasts
    queue here until wait() takes them; entries older than queue_max_age are dropped and at most queue_limit
    are kept. With a callback, broadcasts go to the callback (on the callbacks thread) instead."""

    def __init__(self, client, channel, name, callback):
        self._client = client
        self.channel = channel
        self.name = name
        self._callback = callback
        self._queue = collections.deque()
        self._waiting = 0
        self._cancelled = False

    @property
    def active(self):
        return not self._cancelled

    def wait(self, timeout=None):
        """The oldest queued broadcast, or the next one within `timeout` seconds (None: no limit; 0: do not
        block), or None. Also returns None at once when the listener is cancelled, the client stops or the
        connection drops (the listener stays and is resubscribed when the connection is back)."""
        return self._client._wait(self, timeout)

    def cancel(self):
        """Stops delivery; the channel is unsubscribed when this was its last listener."""
        self._client._cancel(self)

    def __repr__(self):
        return "Listener(channel=%r, name=%r, active=%r)" % (self.channel, self.name, self.active)


class Channel:
    """A channel by name and flags, as seen from one client. `wire` is how frames name it: the plain name,
    or the channel ID when flagged."""

    def __init__(self, client, name, system, consumer, wire):
        self._client = client
        self.name = name
        self.system = system
        self.consumer = consumer
        self.wire = wire

    @property
    def id(self):
        return self.wire

    def broadcast(self, name, payload=ABSENT, timeout=None):
        """Sends `name` with `payload` ({} when not given) to every listener of the channel (this client's own included), blocks
        about `timeout` seconds and returns the list of their responses. Without a timeout the server's
        default applies (the app's broadcastTimeoutMs, 1 s unless configured).

        Raises ServerError when the server refuses it (code 4310 on a system channel, 4309 for a consumer
        key off consumer channels, 4311 over a limit, ...), NetworkError when there is no connection within
        broadcast_grace seconds, when it drops before the responses arrive, or when they do not arrive by
        the deadline (timeout + broadcast_grace)."""
        return self._client._broadcast(self.wire, name, payload, timeout)

    def listen(self, name=None, timeout=None, callback=None):
        """A Listener for broadcasts named `name` (every event on the channel when None), returned once the
        server has confirmed the subscription. Raises ServerError when the server refuses it (e.g. 403
        ConsumerChannelOnly, 401 AuthError), NetworkError when no confirmation arrives within `timeout`
        seconds (default: the listen_timeout option) or the connection drops first."""
        return self._client._listen(self.wire, name, callback, timeout)

    @property
    def members(self):
        """Presence channels: {user_id: user_info} of the members, as last reported by the server."""
        return self._client._members(self.wire)

    @property
    def position(self):
        """History channels: {"epoch", "offset"} of this client in the channel's stream (the last event it
        received), once subscribed; None otherwise. After a reconnect the SDK asks for what it missed from it."""
        return self._client._position(self.wire)

    def __repr__(self):
        return "Channel(name=%r, system=%r, consumer=%r, wire=%r)" % (self.name, self.system, self.consumer, self.wire)


class _Handle:
    def __init__(self, cancel):
        self.cancel = cancel


class _Dispatcher:
    """Runs callbacks one at a time on its own thread."""

    def __init__(self):
        self._queue = queue.SimpleQueue()
        self._thread = None
        self._stopped = False

    def start(self):
        self._thread = threading.Thread(target=self._run, name="exp-callbacks", daemon=True)
        self._thread.start()

    def submit(self, function, *args):
        if not self._stopped:
            self._queue.put((function, args))

    def stop(self):
        if self._thread is None or self._stopped:
            return
        self._stopped = True
        self._queue.put(None)
        if self._thread is not threading.current_thread():
            self._thread.join()

    def _run(self):
        while True:
            item = self._queue.get()
            if item is None:
                return
            function, args = item
            try:
                function(*args)
            except Exception:  # a callback's failure must not stop the others
                log.exception("exp: a callback raised")


class Client:
    """One connection to the gateway with its channels. `Client(**options)` checks the options (raising
    OptionsError); `start()` connects and blocks until connected. exp.start() makes one for the module."""

    def __init__(self, **options):
        self.options = resolve_options(options)
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._channels = {}
        self._broadcasts = {}
        self._handlers = {event: [] for event in EVENTS}
        self._next_request = 0
        self._state = "new"
        self._online = False
        self._connected_once = False
        self._fatal = None
        self._generation = 0  # grows at every disconnect and at stop: wakes blocked wait() calls
        self._prefix = self.options.dialect
        self._dispatcher = _Dispatcher()
        self._connection = Connection(self.options, self) if self.options.enable_network else None

    # --- lifecycle ---------------------------------------------------------------------------------------

    def start(self):
        """Connects and blocks until the gateway has accepted the connection. Raises ServerError when the
        gateway refuses it for good (e.g. 4001, unknown key), NetworkError when no connection is made within
        the `timeout` option; the client is stopped then. With enable_network=False it returns at once."""
        with self._lock:
            if self._state == "started":
                raise RuntimeError("this client is already started")
            if self._state == "stopped":
                raise RuntimeError("this client was stopped; create a new one")
            self._state = "started"
        _live_clients.add(self)
        self._dispatcher.start()
        if self._connection is None:
            return self
        self._connection.start()
        with self._changed:
            self._changed.wait_for(lambda: self._connected_once or self._fatal is not None or self._state != "started", self.options.timeout)
            connected, fatal = self._connected_once, self._fatal
        if connected:
            return self
        stopped = self._state == "stopped"
        self.stop()
        if fatal is not None:
            raise fatal
        if stopped:
            raise RuntimeError("the client was stopped while it was connecting")
        raise NetworkError("could not connect to %s within %g s" % (self.options.url, self.options.timeout))

    def stop(self):
        """Closes the connection and ends the SDK's threads; every blocked call returns or raises, every
        listener is cancelled. Safe to call more than once, and from a callback."""
        with self._changed:
            if self._state == "stopped":
                return
            started = self._state == "started"
            self._state = "stopped"
            self._generation += 1
            stopped = RuntimeError("the client was stopped")
            for state in self._channels.values():
                _cancel_retry(state)
                for listener in state.listeners:
                    listener._cancelled = True
                    listener._queue.clear()
                for confirmation in state.confirmations:
                    confirmation.settle(error=stopped)
            self._channels.clear()
            for pending in self._broadcasts.values():
                pending.settle(error=stopped)
            self._broadcasts.clear()
            self._changed.notify_all()
        if started and self._connection is not None:
            self._connection.stop()
        self._dispatcher.stop()
        _live_clients.discard(self)

    @property
    def stopped(self):
        return self._state == "stopped"

    @property
    def is_online(self):
        return self._online

    @property
    def socket_id(self):
        return self._connection.socket_id if self._connection is not None else None

    def on(self, event, callback):
        """Calls `callback()` on 'online' (every (re)connection, after the channels with listeners were
        resubscribed) and 'offline', `callback(error)` on 'error' (a refusal that is not retried, such as
        4001), `callback(subscription)` on 'subscribed' (an exp.Subscription: whether a channel's missed events
        were recovered). Callbacks run on the SDK's callbacks thread. Returns a handle with cancel()."""
        if event not in EVENTS:
            raise ValueError("event must be one of %s, not %r" % (", ".join(EVENTS), event))
        if not callable(callback):
            raise TypeError("callback must be callable")
        with self._lock:
            self._handlers[event].append(callback)

        def cancel():
            with self._lock:
                if callback in self._handlers[event]:
                    self._handlers[event].remove(callback)

        return _Handle(cancel)

    def get_channel(self, name="default", system=False, consumer=False):
        """A channel by name and flags. Flagged channels are named on the wire by their channel ID, which
        includes the app id: pass app_id to start()."""
        self._check_running()
        if not isinstance(name, str) or name == "":
            raise ValueError("a channel name is a non-empty string")
        system, consumer = bool(system), bool(consumer)
        if (system or consumer) and self.options.app_id is None:
            raise OptionsError("app_id", "system and consumer channels are named by an ID that includes the app id; pass app_id to start()")
        return Channel(self, name, system, consumer, wire_name(self.options.app_id, name, system, consumer))

    # --- blocking calls ----------------------------------------------------------------------------------

    def _broadcast(self, wire, name, payload, timeout):
        self._check_running()
        if not isinstance(name, str) or name == "":
            raise ValueError("a broadcast name is a non-empty string")
        if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout < 0):
            raise ValueError("timeout is a number of seconds >= 0, or None for the server's default")
        if payload is not ABSENT:
            json.dumps(payload)  # a payload that is not JSON fails here, in the caller, with TypeError
        if self._connection is None:
            raise NetworkError("the network is disabled (enable_network=False)")
        grace = self.options.broadcast_grace
        with self._changed:
            self._next_request += 1
            request_id = "r%d" % self._next_request
            pending = _Pending()
            # Ride out a short reconnection; a broadcast is registered only once there is a connection.
            connected = self._changed.wait_for(lambda: self._online or self._fatal is not None or self._state != "started", grace)
            self._raise_if_finished()
            if not connected:
                raise NetworkError("no connection to the gateway within %g s; broadcast not sent" % grace)
            self._broadcasts[request_id] = pending
        data = {"request_id": request_id, "channel": wire, "name": name}
        if payload is not ABSENT:
            data["payload"] = payload
        if timeout is not None:
            data["timeout"] = int(round(timeout * 1000))
        if not self._send({"event": self._prefix + ":broadcast", "data": data}):
            with self._lock:
                self._broadcasts.pop(request_id, None)
                self._raise_if_finished()  # stopped meanwhile: say so rather than blame the network
            raise NetworkError("the connection was lost before the broadcast was sent")
        wait = (DEFAULT_BROADCAST_WAIT if timeout is None else timeout) + grace
        with self._changed:
            self._changed.wait_for(lambda: pending.done, wait)
            self._broadcasts.pop(request_id, None)
        if not pending.done:
            raise NetworkError("no broadcast_responses for %r within %g s" % (name, wait))
        if pending.error is not None:
            raise pending.error
        return pending.value

    def _listen(self, wire, name, callback, timeout):
        self._check_running()
        if name is not None and (not isinstance(name, str) or name == ""):
            raise ValueError("an event name is a non-empty string, or None for every event")
        if callback is not None and not callable(callback):
            raise TypeError("callback must be callable")
        limit = self.options.listen_timeout if timeout is None else timeout
        with self._lock:
            self._raise_if_finished()
            state = self._channels.get(wire)
            if state is None:
                state = self._channels[wire] = _ChannelState(wire)
            listener = Listener(self, wire, name, callback)
            state.listeners.append(listener)
            if state.subscribed:
                return listener
            confirmation = _Pending()
            state.confirmations.append(confirmation)
            subscribe = self._online and not state.requested
            if subscribe:
                state.requested = True
        if subscribe:
            self._subscribe(state)
        with self._changed:
            self._changed.wait_for(lambda: confirmation.done, limit)
            if not confirmation.done:
                confirmation.settle(error=NetworkError("no subscription_succeeded for %s within %g s" % (wire, limit)))
                if confirmation in state.confirmations:
                    state.confirmations.remove(confirmation)
        if confirmation.error is not None:
            listener.cancel()
            raise confirmation.error
        return listener

    def _wait(self, listener, timeout):
        if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float))):
            raise ValueError("timeout is a number of seconds, or None to wait without a limit")
        end = None if timeout is None else time.monotonic() + timeout
        with self._changed:
            self._prune(listener)
            generation = self._generation
            listener._waiting += 1
            try:
                while True:
                    if listener._queue:
                        return listener._queue.popleft()[1]
                    if listener._cancelled or self._generation != generation:
                        return None
                    remaining = None if end is None else end - time.monotonic()
                    if remaining is not None and remaining <= 0:
                        return None
                    self._changed.wait(remaining)
            finally:
                listener._waiting -= 1

    # --- internals ---------------------------------------------------------------------------------------

    def _check_running(self):
        if self._state == "new":
            raise RuntimeError("start() the client first")
        if self._state == "stopped":
            raise RuntimeError("the client was stopped")

    def _raise_if_finished(self):
        if self._state == "stopped":
            raise RuntimeError("the client was stopped")
        if self._fatal is not None:
            raise self._fatal

    def _send(self, frame):
        return self._connection is not None and self._connection.send(frame)

    def _subscribe(self, state):
        """Sends the subscribe for a channel (asking the authorizer first for private and presence ones)."""
        socket_id = self.socket_id
        if socket_id is None or self._channels.get(state.wire) is not state:
            return  # offline (the next connection resubscribes), or nobody listens any more
        data = {"channel": state.wire}
        if state.type != "public":
            try:
                if self.options.authorizer is None:
                    raise OptionsError("authorizer", "%s is a %s channel: pass an authorizer to start()" % (state.wire, state.type))
                authorization = self.options.authorizer(socket_id, state.wire)
                if not isinstance(authorization, dict) or not isinstance(authorization.get("auth"), str):
                    raise TypeError("the authorizer must return {'auth': str, 'channel_data'?: str}")
            except Exception as error:
                log.warning("exp: cannot authorize %s: %s", state.wire, error)
                with self._changed:
                    state.requested = False
                    self._settle(state, error)
                return
            data["auth"] = authorization["auth"]
            if authorization.get("channel_data") is not None:
                channel_data = authorization["channel_data"]
                data["channel_data"] = channel_data if isinstance(channel_data, str) else json.dumps(channel_data, separators=(",", ":"))
        with self._lock:
            # A position from an earlier subscription asks for what was missed since (PROTOCOL.md §9).
            state.recovering = state.position is not None
            if state.position is not None:
                data["since"] = dict(state.position)
        self._send({"event": self._prefix + ":subscribe", "data": data})

    def _retry_subscribe(self, state):
        """The gateway cannot read the channel's history now (HistoryUnavailable): subscribe again after a
        backoff, doubling from min_backoff, while the channel has listeners and the connection is up."""
        ceiling = min(self.options.max_backoff, self.options.min_backoff * 2 ** state.retries)
        state.retries += 1
        _cancel_retry(state)

        def again():
            with self._lock:
                wanted = self._channels.get(state.wire) is state and self._online and state.retry is timer
                if wanted:
                    state.retry, state.requested = None, True
            if wanted:
                self._dispatcher.submit(self._subscribe, state)

        timer = threading.Timer(ceiling / 2 + random.random() * ceiling / 2, again)
        timer.daemon = True
        state.retry = timer
        timer.start()

    def _cancel(self, listener):
        with self._changed:
            if listener._cancelled:
                return
            listener._cancelled = True
            listener._queue.clear()
            self._changed.notify_all()
            state = self._channels.get(listener.channel)
            if state is None or listener not in state.listeners:
                return
            state.listeners.remove(listener)
            if state.listeners:
                return
            del self._channels[state.wire]
            _cancel_retry(state)
            # Only what the server holds or may hold: a refused channel is not unsubscribed, since a bad
            # name would be refused again with an error that carries no channel.
            held = state.subscribed or state.requested
        if held:
            # Also while a subscription is in flight, so the server does not keep one nobody listens to.
            self._send({"event": self._prefix + ":unsubscribe", "data": {"channel": state.wire}})

    def _position(self, wire):
        with self._lock:
            state = self._channels.get(wire)
            return dict(state.position) if state is not None and state.position is not None else None

    def _members(self, wire):
        with self._lock:
            state = self._channels.get(wire)
            return dict(state.members) if state else {}

    def _prune(self, listener):
        oldest = self.options.clock() - self.options.queue_max_age
        while listener._queue and listener._queue[0][0] < oldest:
            listener._queue.popleft()

    def _settle(self, state, error=None):
        for confirmation in state.confirmations:
            confirmation.settle(error=error)
        del state.confirmations[:]
        self._changed.notify_all()

    def _emit(self, event, *args):
        with self._lock:
            handlers = list(self._handlers[event])
        for handler in handlers:
            self._dispatcher.submit(handler, *args)

    # --- connection events (on the network thread) -------------------------------------------------------

    def on_online(self, socket_id):
        with self._changed:
            self._online = True
            self._connected_once = True
            public, guarded = [], []
            for state in self._channels.values():
                state.subscribed = False
                state.requested = True
                (public if state.type == "public" else guarded).append(state)
            self._changed.notify_all()
        for state in public:
            self._subscribe(state)
        for state in guarded:  # the authorizer may block (an HTTP call, say): not on the network thread
            self._dispatcher.submit(self._subscribe, state)
        self._emit("online")

    def on_offline(self, will_reconnect):
        lost = NetworkError("the connection to the gateway was lost")
        with self._changed:
            self._online = False
            self._generation += 1
            for state in self._channels.values():
                state.subscribed = False
                state.requested = False
                _cancel_retry(state)
                self._settle(state, lost)
            for pending in self._broadcasts.values():
                pending.settle(error=lost)
            self._changed.notify_all()
        self._emit("offline")

    def on_fatal(self, error):
        with self._changed:
            self._fatal = error
            self._online = False
            self._generation += 1
            for state in self._channels.values():
                self._settle(state, error)
            for pending in self._broadcasts.values():
                pending.settle(error=error)
            self._changed.notify_all()
        log.warning("exp: the gateway refused the connection for good: %s (%s)", error, error.code)
        self._emit("error", error)

    def on_frame(self, frame):
        event = frame.get("event")
        data = frame.get("data")
        names = self._prefix
        with self._changed:
            state = self._channels.get(frame.get("channel")) if isinstance(frame.get("channel"), str) else None
            if event == names + "_internal:subscription_succeeded":
                if state is not None:
                    state.subscribed, state.requested, state.retries = True, False, 0
                    data = data if isinstance(data, dict) else {}
                    presence = data.get("presence")
                    if isinstance(presence, dict):
                        state.members = dict(presence.get("hash") or {})
                    subscription = self._position_answered(state, data)
                    self._settle(state)
                    self._emit("subscribed", subscription)
                return
            if event == names + ":subscription_error":
                if state is not None:
                    data = data if isinstance(data, dict) else {}
                    state.requested = False
                    if data.get("type") == HISTORY_UNAVAILABLE:
                        self._retry_subscribe(state)  # listen() keeps waiting, up to its own timeout
                    else:
                        self._settle(state, ServerError(str(data.get("error", "subscription refused")), status=data.get("status"), type=data.get("type")))
                return
            if event == names + "_internal:member_added":
                if state is not None and isinstance(data, dict):
                    state.members[str(data.get("user_id"))] = data.get("user_info")
                return
            if event == names + "_internal:member_removed":
                if state is not None and isinstance(data, dict):
                    state.members.pop(str(data.get("user_id")), None)
                return
            if event == names + ":broadcast_responses":
                if isinstance(data, dict):
                    pending = self._broadcasts.pop(data.get("request_id"), None)
                    if pending is not None:
                        pending.settle(value=list(data.get("responses") or []))
                        self._changed.notify_all()
                return
            if event == names + ":error":
                self._refused(data if isinstance(data, dict) else {})
                return
            if state is not None and isinstance(event, str) and not event.startswith(names + ":") and not event.startswith(names + "_internal:"):
                self._deliver(state, frame)

    def _refused(self, data):
        code, message, request_id = data.get("code"), str(data.get("message", "")), data.get("request_id")
        error = ServerError(message, code=code)
        pending = self._broadcasts.pop(request_id, None) if request_id is not None else None
        if pending is not None:
            pending.settle(error=error)
            self._changed.notify_all()
            return
        # Every refused subscribe is a subscription_error naming its channel; anything else is only logged.
        log.warning("exp: the gateway reported an error: %s %s", code, message)

    def _position_answered(self, state, data):
        """The position a subscription answer gives: the stream's epoch, and its offset unless the missed events
        follow (recovered), which then move the position themselves. Channels without history give none."""
        was_recovering = state.recovering
        state.recovering = False
        recovered = was_recovering and data.get("recovered") is True
        epoch, offset = data.get("epoch"), data.get("offset")
        if isinstance(epoch, str) and isinstance(offset, int):
            kept = state.position["offset"] if recovered and state.position is not None else offset
            state.position = {"epoch": epoch, "offset": kept}
        position = dict(state.position) if state.position is not None else None
        return Subscription(state.wire, was_recovering, recovered, position)

    def _deliver(self, state, frame):
        offset = frame.get("offset")
        if isinstance(offset, int) and state.position is not None:
            state.position = {"epoch": state.position["epoch"], "offset": offset}
        text = frame.get("data_text")
        now = self.options.clock()
        for listener in list(state.listeners):
            if listener.name is not None and listener.name != frame.get("event"):
                continue
            # Each listener gets its own copy, so one listener's changes never reach another.
            payload = _decode_copy(text, frame.get("data"))
            broadcast = Broadcast(self, frame, payload)
            if listener._callback is not None:
                self._dispatcher.submit(listener._callback, broadcast)
                continue
            listener._queue.append((now, broadcast))
            self._prune(listener)
            while len(listener._queue) > max(self.options.queue_limit, listener._waiting):
                listener._queue.popleft()
        self._changed.notify_all()


def _cancel_retry(state):
    if state.retry is not None:
        state.retry.cancel()
        state.retry = None


def _decode_copy(text, data):
    if isinstance(text, str):
        try:
            return json.loads(text)
        except ValueError:
            return text
    return json.loads(json.dumps(data))


@atexit.register
def _stop_all():
    for client in list(_live_clients):
        try:
            client.stop()
        except Exception:
            pass
