"""EXP channel IDs (DESIGN D8), byte for byte as src/protocol/channel-id.ts computes them.

A channel is (app, name, system, consumer). Its ID is the URL-safe base64, with `=` padding, of the compact
UTF-8 JSON `[appId, name, system?1:0, consumer?1:0]` as JavaScript's JSON.stringify writes it. Example: app
`app-id`, name `lobby`, consumer -> `["app-id","lobby",0,1]` -> `WyJhcHAtaWQiLCJsb2JieSIsMCwxXQ==`. A channel
with both flags clear is named on the wire by its plain name; any other by its ID.
"""

import base64
import binascii
import json
import re

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_ID_CHARS = re.compile(r"^[A-Za-z0-9+/_-]+={0,2}$")


def _js_stringify(value):
    """JSON.stringify of a list of strings and small ints: compact, non-ASCII kept as is, control
    characters escaped as \\b \\t \\n \\f \\r or lowercase \\u00XX (Python's escapes are the same), and
    unpaired surrogates escaped as \\udXXX (well-formed JSON.stringify, ES2019)."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    # A surrogate pair held as two code points in a Python str is one character in JavaScript: join it.
    text = text.encode("utf-16", "surrogatepass").decode("utf-16", "surrogatepass")
    return _LONE_SURROGATE.sub(lambda m: "\\u%04x" % ord(m.group()), text)


def channel_id(app_id, name, system=False, consumer=False):
    """The canonical channel ID of (app_id, name, system, consumer)."""
    text = _js_stringify([app_id, name, 1 if system else 0, 1 if consumer else 0])
    return base64.urlsafe_b64encode(text.encode("utf-8")).decode("ascii")


def wire_name(app_id, name, system=False, consumer=False):
    """How frames name the channel: its plain name when both flags are clear, else its channel ID."""
    return channel_id(app_id, name, system, consumer) if system or consumer else name


def parse_channel_id(value):
    """(app_id, name, system, consumer) for a channel ID in any base64 form (standard or URL-safe
    alphabet, padded or not), or None when `value` is not one (a plain channel name, say). The decoded
    JSON must be exactly `[string, string, 0|1, 0|1]`; the same rules as parseChannelId in TypeScript."""
    if not isinstance(value, str) or not value.startswith("Wy") or not _ID_CHARS.match(value) or len(value) % 4 == 1:
        return None
    standard = value.replace("-", "+").replace("_", "/")
    standard += "=" * (-len(standard) % 4)
    if len(standard) - len(standard.rstrip("=")) > 2:
        return None  # atob allows at most two padding characters
    try:
        decoded = json.loads(base64.b64decode(standard, validate=True).decode("utf-8"))
    except (binascii.Error, ValueError):
        return None
    if not isinstance(decoded, list) or len(decoded) != 4:
        return None
    app_id, name, system, consumer = decoded
    if not isinstance(app_id, str) or not isinstance(name, str) or not _is_bit(system) or not _is_bit(consumer):
        return None
    return (app_id, name, system == 1, consumer == 1)


def _is_bit(value):
    # JSON.parse gives numbers: 1.0 is 1 there; true is not.
    return type(value) in (int, float) and value in (0, 1)
