"""For Python backends: the gateway's signed REST API, and the signatures an app's auth endpoints return.

    from exp.server import Server

    server = Server(url='http://localhost:6001', app_id='app-id', key='app-key', secret='app-secret')
    server.trigger(['news'], 'my-event', {'hello': 'world'})
    responses = server.broadcast('my_channel', 'my_event', 'hello', timeout_ms=500)
    server.broadcast(server.channel_id('updates', system=True), 'update', {'v': 2})

Requests are signed exactly as src/http/request-signature.ts verifies them (and as the broadcastt and Pusher
server libraries sign): query parameters auth_key, auth_timestamp, auth_version=1.0 and body_md5 (lowercase
hex MD5 of the raw body bytes), and auth_signature = lowercase hex HMAC-SHA256(secret,
"METHOD\\nPATH\\nQUERY"), QUERY being every other parameter sorted by key and joined as key=value with &,
values unencoded.
"""

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from urllib.parse import quote, urlsplit, urlunsplit

from .channel_id import channel_id, wire_name
from .client import ABSENT
from .errors import OptionsError, RestError

AUTH_VERSION = "1.0"

# encodeURIComponent leaves these unencoded; the signed URL is built the same way as signRequestQuery's.
_URI_COMPONENT_SAFE = "-_.!~*'()"


def _compact(value):
    """JSON as JSON.stringify writes it: no spaces, non-ASCII kept."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def string_to_sign(method, path, params):
    """"METHOD\\nPATH\\nk1=v1&k2=v2...": every parameter but auth_signature, sorted by key, unencoded."""
    query = "&".join("%s=%s" % (key, params[key]) for key in sorted(params) if key != "auth_signature")
    return "%s\n%s\n%s" % (method.upper(), path, query)


def sign_query(key, secret, method, path, body=b"", params=None, timestamp=None):
    """The signed query string of a request, as signRequestQuery builds it (keys sorted, values encoded as
    encodeURIComponent does). `body` is the raw body (str or bytes); `params` the other query parameters."""
    if isinstance(body, str):
        body = body.encode("utf-8")
    signed = {str(k): str(v) for k, v in (params or {}).items()}
    signed["auth_key"] = key
    signed["auth_timestamp"] = str(int(time.time()) if timestamp is None else int(timestamp))
    signed["auth_version"] = AUTH_VERSION
    if method.upper() == "POST" or len(body) > 0:
        signed["body_md5"] = hashlib.md5(body).hexdigest()
    signed["auth_signature"] = hmac.new(secret.encode("utf-8"), string_to_sign(method, path, signed).encode("utf-8"), hashlib.sha256).hexdigest()
    return "&".join("%s=%s" % (k, quote(signed[k], safe=_URI_COMPONENT_SAFE)) for k in sorted(signed))


def _sign(key, secret, text):
    return "%s:%s" % (key, hmac.new(secret.encode("utf-8"), text.encode("utf-8"), hashlib.sha256).hexdigest())


def authorize_channel(key, secret, socket_id, channel, channel_data=None):
    """What an app's auth endpoint returns to its client for a private or presence channel (the wire name:
    the channel ID for flagged channels): {'auth': 'key:hex(HMAC-SHA256(secret, "socket_id:channel[:channel_data]"))'}
    plus 'channel_data' for presence. `channel_data` may be a dict (encoded compactly) or the exact string."""
    if channel_data is None:
        return {"auth": _sign(key, secret, "%s:%s" % (socket_id, channel))}
    text = channel_data if isinstance(channel_data, str) else _compact(channel_data)
    return {"auth": _sign(key, secret, "%s:%s:%s" % (socket_id, channel, text)), "channel_data": text}


def authenticate_user(key, secret, socket_id, user_data):
    """The signed user_data for `<prefix>:signin` (Pusher's user authentication): user_data is a dict with a
    string 'id', or its exact JSON text. Returns {'auth', 'user_data'}."""
    text = user_data if isinstance(user_data, str) else _compact(user_data)
    return {"auth": _sign(key, secret, "%s::user::%s" % (socket_id, text)), "user_data": text}


class Server:
    """The gateway's REST API for one app. `url` is the gateway (http://, https://, ws:// or wss://; only
    scheme, host and port are used); `timeout` bounds each HTTP call in seconds (a broadcast adds its own)."""

    def __init__(self, url, app_id, key, secret, timeout=10.0):
        parts = urlsplit(url) if isinstance(url, str) else None
        if parts is None or parts.scheme not in ("http", "https", "ws", "wss") or not parts.hostname:
            raise OptionsError("url", "give the gateway's URL, e.g. http://localhost:6001")
        scheme = {"ws": "http", "wss": "https"}.get(parts.scheme, parts.scheme)
        self.base = urlunsplit((scheme, parts.netloc, "", "", ""))
        for option, value in (("app_id", app_id), ("key", key), ("secret", secret)):
            if not isinstance(value, str) or value == "":
                raise OptionsError(option, "must be a non-empty string")
        self.app_id, self.key, self.secret, self.timeout = app_id, key, secret, float(timeout)

    # --- signatures for the app's own endpoints ------------------------------------------------------------

    def authorize_channel(self, socket_id, channel, channel_data=None):
        """See the module function authorize_channel; uses this app's key and secret."""
        return authorize_channel(self.key, self.secret, socket_id, channel, channel_data)

    def authenticate_user(self, socket_id, user_data):
        """See the module function authenticate_user; uses this app's key and secret."""
        return authenticate_user(self.key, self.secret, socket_id, user_data)

    def channel_id(self, name, system=False, consumer=False):
        """The wire name of a channel of this app: the plain name, or the channel ID when flagged."""
        return wire_name(self.app_id, name, system, consumer)

    # --- publishing ----------------------------------------------------------------------------------------

    def trigger(self, channels, event, data, socket_id=None):
        """Publishes `event` to one channel (a string) or several (a list of wire names). `data` is sent as
        is when it is a string, else as its JSON text. `socket_id` excludes that connection."""
        body = {"name": event, "channels": [channels] if isinstance(channels, str) else list(channels), "data": data if isinstance(data, str) else _compact(data)}
        if socket_id is not None:
            body["socket_id"] = socket_id
        return self.request("POST", "/events", body)

    def trigger_batch(self, events):
        """Publishes several events: each a dict with name, channel, data (and optional socket_id)."""
        batch = [dict(event, data=event["data"] if isinstance(event.get("data"), str) else _compact(event.get("data"))) for event in events]
        return self.request("POST", "/batch_events", {"batch": batch})

    def broadcast(self, channel, name, payload=ABSENT, timeout_ms=None):
        """Broadcasts to every listener of `channel` (a wire name or ID, or {'name', 'system', 'consumer'};
        system channels are allowed here), holds the request about `timeout_ms` (the app's default when None)
        and returns the list of response payloads."""
        body = {"name": name, "channel": channel}
        if payload is not ABSENT:  # absent: the listeners get {}
            body["payload"] = payload
        params = {} if timeout_ms is None else {"timeout": str(int(timeout_ms))}
        wait = self.timeout + (30.0 if timeout_ms is None else timeout_ms / 1000.0)
        return self.request("POST", "/broadcasts", body, params, timeout=wait)

    def respond(self, id, channel, payload=ABSENT):
        """Answers a broadcast by its id (as a listener received it) over HTTP; without a payload, {}."""
        body = {"id": id, "channel": channel}
        if payload is not ABSENT:
            body["payload"] = payload
        return self.request("POST", "/responses", body)

    # --- queries -------------------------------------------------------------------------------------------

    def channels(self, filter_by_prefix=None, info=None):
        """{'channels': {name: {...}}} of the occupied channels; `info` e.g. 'subscription_count'."""
        params = {}
        if filter_by_prefix is not None:
            params["filter_by_prefix"] = filter_by_prefix
        if info is not None:
            params["info"] = info if isinstance(info, str) else ",".join(info)
        return self.request("GET", "/channels", params=params)

    def channel(self, name, info=None):
        """{'occupied': bool, ...} for one channel (wire name); `info` e.g. 'subscription_count'."""
        params = {} if info is None else {"info": info if isinstance(info, str) else ",".join(info)}
        return self.request("GET", "/channels/" + name, params=params)

    def users(self, name):
        """The users of a presence channel: {'users': [{'id': ...}, ...]}."""
        return self.request("GET", "/channels/%s/users" % name)

    def terminate_user_connections(self, user_id):
        """Closes every connection signed in as `user_id` (4009)."""
        return self.request("POST", "/users/%s/terminate_connections" % quote(str(user_id), safe=""), {})

    # --- transport -----------------------------------------------------------------------------------------

    def history(self, channel, since=None, limit=None, epoch=None):
        """The kept events of a history channel (GET /channels/<name>/history): {"epoch", "offset", "events",
        and "recovered" when `since` is given}, oldest first; after offset `since` (and epoch `epoch`) if given,
        at most `limit`. Each event is the frame subscribers got: {"event", "channel", "data", "offset"}."""
        params = {name: str(value) for name, value in (("since", since), ("limit", limit), ("epoch", epoch)) if value is not None}
        return self.request("GET", "/channels/%s/history" % channel, params=params)

    def request(self, method, path, body=None, params=None, timeout=None):
        """A signed call to /apps/<app_id><path>; returns the decoded JSON answer or raises RestError."""
        full_path = "/apps/%s%s" % (self.app_id, path)
        raw = b"" if body is None else _compact(body).encode("utf-8")
        query = sign_query(self.key, self.secret, method, full_path, raw, params)
        request = urllib.request.Request(self.base + full_path + "?" + query, data=raw if method.upper() == "POST" else None, method=method.upper())
        if method.upper() == "POST":
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout if timeout is None else timeout) as answer:
                text = answer.read().decode("utf-8")
        except urllib.error.HTTPError as error:
            text = error.read().decode("utf-8", "replace")
            try:
                message = json.loads(text).get("error", text)
            except (ValueError, AttributeError):
                message = text
            raise RestError(error.code, message, text)
        return json.loads(text) if text else None


__all__ = ["Server", "authenticate_user", "authorize_channel", "channel_id", "sign_query", "string_to_sign"]
