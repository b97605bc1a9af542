"""The exceptions the SDK raises, and the gateway's error catalogue (protocol/errors.json) it decides by."""

import builtins

# protocol/errors.json "classes": what a client does when the connection closes with a code in the range.
# tests/test_catalogue.py checks these tables against the file, so they cannot drift from the server's.
CLOSE_CLASSES = (
    (4000, 4099, "never"),
    (4100, 4199, "backoff"),
    (4200, 4299, "immediately"),
    (4300, 4399, "none"),
)

# protocol/errors.json "websocket": code -> name.
WEBSOCKET_ERRORS = {
    4001: "AppNotFound",
    4003: "AppDisabled",
    4004: "OverConnectionQuota",
    4005: "PathNotFound",
    4009: "Unauthorized",
    4100: "OverCapacity",
    4101: "SlowConsumer",
    4200: "ServerRestarting",
    4201: "PongNotReceived",
    4203: "MissedEvents",
    4300: "InvalidMessage",
    4301: "OverLimit",
    4302: "ServerError",
    4303: "UnknownEvent",
    4304: "BinaryNotSupported",
    4305: "MessageTooLarge",
    4306: "InvalidChannel",
    4307: "TooManyChannels",
    4308: "SubscriptionRefused",
    4309: "ConsumerChannelOnly",
    4310: "SystemChannelReadOnly",
    4311: "BroadcastRejected",
    4312: "ResponseRejected",
    4313: "WatchlistRejected",
    4314: "ClientEventRejected",
}


def reconnect_after_close(code):
    """'never', 'backoff' or 'immediately' for a close code; codes outside every class (1006 for a lost
    network, 1001, ...) mean the network failed: back off and retry, as the Node SDK does."""
    for low, high, kind in CLOSE_CLASSES:
        if low <= code <= high:
            return kind
    return "backoff"


class ExpError(Exception):
    """Base class of every error the SDK raises."""


class OptionsError(ExpError, ValueError):
    """An option given to start() (or another constructor) is missing or invalid; `option` names it."""

    def __init__(self, option, message):
        super().__init__("%s: %s" % (option, message))
        self.option = option
        self.message = message


class RuntimeError(ExpError, builtins.RuntimeError):  # noqa: A001 - the seed names it exp.RuntimeError
    """The SDK is already started (start() twice), not started yet, or was stopped."""


class NetworkError(ExpError, ConnectionError):
    """The network did not let a call finish: no connection within the timeout, the connection was lost
    while the call waited, or the server did not answer before the call's deadline."""


class ServerError(ExpError):
    """The gateway refused what was asked: the connection (a 4000-range close), a subscription
    (subscription_error: `status` and `type`, e.g. 403 ConsumerChannelOnly) or a broadcast (an error frame
    with the broadcast's request_id: `code`, e.g. 4310 on a system channel)."""

    def __init__(self, message, code=None, status=None, type=None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.type = type

    @property
    def name(self):
        """The catalogue name of `code` (e.g. 'SystemChannelReadOnly'), or `type` for refused subscriptions."""
        if self.code is not None:
            return WEBSOCKET_ERRORS.get(self.code)
        return self.type

    def __repr__(self):
        return "ServerError(%r, code=%r, status=%r, type=%r)" % (self.message, self.code, self.status, self.type)


class RestError(ExpError):
    """A REST call answered with an HTTP error: `status` and the gateway's `{"error": message}`."""

    def __init__(self, status, message, body=None):
        super().__init__("HTTP %d: %s" % (status, message))
        self.status = status
        self.message = message
        self.body = body
