"""Channel IDs match src/protocol/channel-id.ts byte for byte: the examples of test/unit/channel-id.test.ts,
and a live comparison with the TypeScript functions over awkward names."""

import base64
import json

import pytest

from exp import channel_id, parse_channel_id, wire_name
from node_reference import dist_url, run_node


def test_url_safe_padded_base64_of_the_compact_json():
    # The examples of test/unit/channel-id.test.ts (research/exp-network.md §1.5).
    assert channel_id("myorg", "myChannel", consumer=True) == "WyJteW9yZyIsIm15Q2hhbm5lbCIsMCwxXQ=="
    assert channel_id("myorg", "myChannel") == "WyJteW9yZyIsIm15Q2hhbm5lbCIsMCwwXQ=="
    assert channel_id("myorg", "myChannel", system=True) == "WyJteW9yZyIsIm15Q2hhbm5lbCIsMSwwXQ=="
    # Where the alphabets differ: the EXP SDKs would send WyJteW9yZyIsIndoYXQ/IiwwLDFd.
    assert channel_id("myorg", "what?", consumer=True) == "WyJteW9yZyIsIndoYXQ_IiwwLDFd"
    assert base64.urlsafe_b64decode(channel_id("app-id", "café", consumer=True)).decode("utf-8") == '["app-id","café",0,1]'
    # PROTOCOL.md §7.1
    assert channel_id("app-id", "lobby", consumer=True) == "WyJhcHAtaWQiLCJsb2JieSIsMCwxXQ=="
    assert channel_id("app-id", "lobby", system=True) == "WyJhcHAtaWQiLCJsb2JieSIsMSwwXQ=="


def test_parse_accepts_every_base64_form():
    expected = ("myorg", "what?", False, True)
    for form in ("WyJteW9yZyIsIndoYXQ_IiwwLDFd", "WyJteW9yZyIsIndoYXQ/IiwwLDFd"):
        assert parse_channel_id(form) == expected
    padded = "WyJteW9yZyIsIm15Q2hhbm5lbCIsMCwxXQ=="
    assert parse_channel_id(padded) == ("myorg", "myChannel", False, True)
    assert parse_channel_id(padded.rstrip("=")) == parse_channel_id(padded)
    assert parse_channel_id(channel_id("a", "b", system=True, consumer=True)) == ("a", "b", True, True)


def b64(text):
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


NOT_IDS = [
    "news",
    "private-chat",
    "Wy",
    "Wyxx",
    "W" * 5,
    "WyJ!@#",
    b64('["a","b",0]'),
    b64('["a","b",0,1,0]'),
    b64('["a","b",2,0]'),
    b64('["a","b",true,false]'),
    b64('["a",7,0,0]'),
    b64('["a","b",0,1'),
    channel_id("a", "b", consumer=True) + "=",
]


def test_parse_rejects_everything_else():
    for value in NOT_IDS:
        assert parse_channel_id(value) is None, value


def test_wire_name_is_the_plain_name_without_flags_and_the_id_with_any():
    assert wire_name("app", "news") == "news"
    assert wire_name("app", "news", system=False, consumer=False) == "news"
    assert wire_name("app", "news", consumer=True) == channel_id("app", "news", consumer=True)
    assert wire_name("app", "news", system=True) == channel_id("app", "news", system=True)


AWKWARD_NAMES = [
    "lobby",
    "café",
    "what?",
    "data:key:group",
    "emoji 😀 and 中文",
    'quote " and back \\ slash',
    "controls \x00 \x01 \x1f \b \f \n \r \t",
    "separators \u2028 \u2029 and \x7f",
    "lone \ud800 high and \udc00 low",
    "a pair held as two code points \ud83d\ude00",
    "/slashes/ and +plus+ ~~~ >>>???",
    "",
]


def test_ids_match_the_typescript_implementation_live():
    cases = [[app, name, system, consumer] for app in ("app-id", "ß-org") for name in AWKWARD_NAMES for system in (False, True) for consumer in (False, True)]
    body = """
const { channelId, parseChannelId } = await import(%s);
const ids = input.cases.map(([app, name, system, consumer]) => channelId(app, name, { system, consumer }));
const parsed = input.candidates.map((c) => { const p = parseChannelId(c); return p ? [p.appId, p.name, p.system, p.consumer] : null; });
process.stdout.write(JSON.stringify({ ids, parsed }));
""" % json.dumps(dist_url("src/protocol/channel-id.js"))
    ours = [channel_id(*case) for case in cases]
    candidates = ours + [i.replace("-", "+").replace("_", "/") for i in ours] + [i.rstrip("=") for i in ours] + [i[:-1] for i in ours] + NOT_IDS
    candidates += ["WyJxW=", "WyJ4IiwieSIsMSwwXQ=", "WyJ4IiwieSIsMS4wLDBd", "WyJ4IiwieSIsMWUwLDBd", b64('["x","y",-0,1]')]
    reference = run_node(body, {"cases": cases, "candidates": candidates})
    assert ours == reference["ids"]
    mine = [list(p) if p else None for p in (parse_channel_id(c) for c in candidates)]
    assert mine == reference["parsed"]
