"""The options of start() / Client(): checked at once, an OptionsError naming the first bad one."""

import re
import time
from urllib.parse import urlsplit, urlunsplit

from .errors import OptionsError

_KEY = re.compile(r"^[A-Za-z0-9_-]{1,128}$")

# name: (default, kind, minimum) for the numeric options, all in seconds except queue_limit.
_NUMBERS = {
    "timeout": (10.0, float, 0.0),  # start(): how long to wait for the first connection
    "listen_timeout": (10.0, float, 0.0),  # listen(): how long to wait for subscription_succeeded
    "broadcast_grace": (5.0, float, 0.0),  # broadcast(): extra wait for broadcast_responses after the timeout
    "handshake_timeout": (10.0, float, 0.0),  # one connection attempt, up to connection_established
    "queue_max_age": (60.0, float, 0.0),  # how long a broadcast waits in a listener's queue
    "queue_limit": (1000, int, 0),  # broadcasts kept per listener queue; the oldest go first
    "pong_timeout": (10.0, float, 0.0),  # after our ping, how long to wait for any traffic
    "min_backoff": (1.0, float, 0.0),  # reconnect backoff doubles from min_backoff ...
    "max_backoff": (30.0, float, 0.0),  # ... up to max_backoff, with jitter
}

# What the EXP SDKs took; this gateway identifies an app by key instead.
_EXP_CREDENTIALS = ("username", "password", "organization", "uuid", "secret", "api_key", "apiKey", "allow_pairing", "host")


class Options:
    """Resolved options (attributes named as the keyword arguments)."""

    def __repr__(self):
        shown = {k: v for k, v in vars(self).items() if k != "authorizer"}
        return "Options(%s)" % ", ".join("%s=%r" % item for item in sorted(shown.items()))


def resolve_options(given):
    options = Options()
    given = dict(given)
    for name in given:
        if name in _EXP_CREDENTIALS:
            raise OptionsError(name, "EXP credentials are not used by this gateway; give url, key and app_id")
        if name not in _NUMBERS and name not in ("url", "key", "app_id", "enable_network", "dialect", "authorizer", "clock"):
            raise OptionsError(name, "unknown option")

    key = given.get("key")
    if not isinstance(key, str) or not _KEY.match(key):
        raise OptionsError("key", "give the app key (or a consumer key): letters, digits, - and _")
    options.key = key

    app_id = given.get("app_id")
    if app_id is not None and (not isinstance(app_id, str) or app_id == ""):
        raise OptionsError("app_id", "must be the app id (a non-empty string)")
    options.app_id = app_id

    dialect = given.get("dialect", "broadcastt")
    if dialect not in ("broadcastt", "pusher"):
        raise OptionsError("dialect", "must be 'broadcastt' or 'pusher'")
    options.dialect = dialect

    url = given.get("url")
    if not isinstance(url, str) or url == "":
        raise OptionsError("url", "give the gateway's URL, e.g. ws://localhost:6001 or wss://eu.example.com/app/KEY")
    options.url = _websocket_url(url, key, dialect)

    enable_network = given.get("enable_network", True)
    if not isinstance(enable_network, bool):
        raise OptionsError("enable_network", "must be True or False")
    options.enable_network = enable_network

    authorizer = given.get("authorizer")
    if authorizer is not None and not callable(authorizer):
        raise OptionsError("authorizer", "must be a function (socket_id, channel) -> {'auth': ..., 'channel_data'?: ...}")
    options.authorizer = authorizer

    clock = given.get("clock", time.monotonic)
    if not callable(clock):
        raise OptionsError("clock", "must be a function returning seconds")
    options.clock = clock

    for name, (default, kind, minimum) in _NUMBERS.items():
        value = given.get(name, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value or value < minimum:
            raise OptionsError(name, "must be a number >= %s" % minimum)
        if kind is int and int(value) != value:
            raise OptionsError(name, "must be a whole number")
        if value == float("inf"):
            raise OptionsError(name, "must be finite")
        setattr(options, name, kind(value))
    for name in ("timeout", "listen_timeout", "handshake_timeout", "pong_timeout"):
        if getattr(options, name) <= 0:
            raise OptionsError(name, "must be more than 0")
    if options.max_backoff < options.min_backoff:
        raise OptionsError("max_backoff", "must be at least min_backoff")
    return options


def _websocket_url(url, key, dialect):
    """ws(s)://host:port[/app/KEY][?query]: http(s) becomes ws(s); a URL without a path gets /app/<key>."""
    parts = urlsplit(url)
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    if scheme not in ("ws", "wss") or not parts.hostname:
        raise OptionsError("url", "must be ws://, wss://, http:// or https:// and a host, e.g. ws://localhost:6001")
    try:
        parts.port
    except ValueError:
        raise OptionsError("url", "has an invalid port")
    path = parts.path if parts.path not in ("", "/") else "/app/" + key
    query = parts.query
    if dialect == "pusher":
        query = query + "&protocol=7" if query else "protocol=7"
    return urlunsplit((scheme, parts.netloc, path, query, ""))
