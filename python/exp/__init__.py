"""The EXP network SDK for Python, on the broadcastt gateway.

    import exp

    exp.start(url='ws://localhost:6001', key='app-key', app_id='app-id')
    channel = exp.get_channel('my_channel')
    listener = channel.listen('my_event')
    responses = channel.broadcast('my_event', payload='hello', timeout=1)
    broadcast = listener.wait(5)
    if broadcast:
        broadcast.respond('Nice to meet you!')
    exp.runtime.stop()

The module-level API (start, get_channel, runtime) drives one client; exp.Client(**options).start() makes
more, each with its own connection. exp.server is the signed REST client for backends.
"""

import threading

from . import server
from .channel_id import channel_id, parse_channel_id, wire_name
from .client import EVENTS, Broadcast, Channel, Client, Listener, Subscription
from .errors import ExpError, NetworkError, OptionsError, RestError, RuntimeError, ServerError

__all__ = [
    "Broadcast",
    "Channel",
    "Client",
    "ExpError",
    "Listener",
    "NetworkError",
    "OptionsError",
    "RestError",
    "RuntimeError",
    "ServerError",
    "Subscription",
    "channel_id",
    "get_channel",
    "parse_channel_id",
    "runtime",
    "server",
    "start",
    "wire_name",
]

__version__ = "0.1.0"

_lock = threading.Lock()
_client = None


class _Runtime:
    """exp.runtime: the module's client, started by exp.start()."""

    def __init__(self):
        self._early = []  # handlers registered before start(), handed to the next client

    def on(self, event, callback):
        """Calls `callback` on 'online', 'offline' (no arguments), 'error' (the error) or 'subscribed' (an
        exp.Subscription), on the SDK's callbacks thread. May be called before start(). Returns a handle with
        cancel()."""
        with _lock:
            client = _client
            if client is None or client.stopped:
                if event not in EVENTS:
                    raise ValueError("event must be one of %s, not %r" % (", ".join(EVENTS), event))
                entry = (event, callback)
                self._early.append(entry)

                class _EarlyHandle:
                    @staticmethod
                    def cancel():
                        with _lock:
                            if entry in self._early:
                                self._early.remove(entry)

                return _EarlyHandle()
        return client.on(event, callback)

    def stop(self):
        """Closes the connection and stops the SDK's threads. exp.start() may be called again afterwards."""
        global _client
        with _lock:
            client, _client = _client, None
        if client is not None:
            client.stop()

    @property
    def client(self):
        """The started Client, or None."""
        return _client

    @property
    def is_online(self):
        client = _client
        return client is not None and client.is_online

    @property
    def socket_id(self):
        client = _client
        return client.socket_id if client is not None else None


runtime = _Runtime()


def start(**options):
    """Starts the SDK: connects to the gateway and blocks until connected. Options (keyword arguments):

    url            the gateway, e.g. 'ws://localhost:6001' (the path /app/<key> is added) or a full
                   'wss://host/app/KEY' URL
    key            the app key, or one of its consumer keys
    app_id         the app id; needed for system and consumer channels
    enable_network False: do not connect (start returns at once; listen raises after listen_timeout)
    authorizer     for private and presence channels: (socket_id, channel) -> {'auth', 'channel_data'?}
    timeout (10), listen_timeout (10), broadcast_grace (5), handshake_timeout (10), pong_timeout (10),
    min_backoff (1), max_backoff (30), queue_max_age (60): seconds; queue_limit (1000);
    dialect ('broadcastt' or 'pusher'); clock (seconds function for queue ages)

    Raises OptionsError naming a bad option, RuntimeError when already started, ServerError when the
    gateway refuses the connection (e.g. 4001 for an unknown key), NetworkError when no connection is made
    within `timeout`. Returns the Client.
    """
    global _client
    with _lock:
        if _client is not None and not _client.stopped:
            raise RuntimeError("Runtime already started.")
        client = Client(**options)
        for event, callback in runtime._early:
            client.on(event, callback)
        runtime._early = []
        _client = client
    try:
        return client.start()
    except BaseException:
        with _lock:
            if _client is client:
                _client = None
        raise


def get_channel(name="default", system=False, consumer=False):
    """A channel of the started SDK by name and flags (see Client.get_channel)."""
    client = _client
    if client is None or client.stopped:
        raise RuntimeError("start() the SDK first")
    return client.get_channel(name, system=system, consumer=consumer)
