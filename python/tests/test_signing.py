"""exp.server signs REST requests and channel/user authorizations exactly as the TypeScript implementation
(src/http/request-signature.ts, src/protocol/channel-auth.ts) does: worked examples from PROTOCOL.md, and a
live comparison with the built functions, so the two cannot drift apart."""

import json

from exp.server import Server, authenticate_user, authorize_channel, sign_query, string_to_sign
from node_reference import dist_url, run_node


def test_the_worked_example_of_protocol_md():
    # PROTOCOL.md §5.1, computed there with signRequestQuery and checked with openssl dgst -sha256 -hmac.
    body = json.dumps({"name": "my-event", "channel": "news", "data": json.dumps({"hello": "world"}, separators=(",", ":"))}, separators=(",", ":"))
    assert len(body) == 67
    query = sign_query("app-key", "app-secret", "POST", "/apps/app-id/events", body, {}, 1700000000)
    assert query == (
        "auth_key=app-key&auth_signature=a6d317ba11ce0cb04a0b58b06c65602336460f1b64b4531f2fc907f37682643e"
        "&auth_timestamp=1700000000&auth_version=1.0&body_md5=456f25996c7e2c9d91eb515384f3316a"
    )
    params = {"auth_key": "app-key", "auth_timestamp": "1700000000", "auth_version": "1.0", "body_md5": "456f25996c7e2c9d91eb515384f3316a"}
    assert string_to_sign("post", "/apps/app-id/events", params) == (
        "POST\n/apps/app-id/events\nauth_key=app-key&auth_timestamp=1700000000&auth_version=1.0&body_md5=456f25996c7e2c9d91eb515384f3316a"
    )


def test_the_channel_auth_vector_of_protocol_md():
    # PROTOCOL.md §3.2: key testkey, secret testsecret, "1.1:test-channel".
    assert authorize_channel("testkey", "testsecret", "1.1", "test-channel") == {
        "auth": "testkey:67b492396edbe136bed8a131fd3c5ba7c28316a0a93c083973ecf69ceb2b474b"
    }


SIGN_CASES = [
    ["POST", "/apps/app-id/events", '{"name":"my-event","channel":"news","data":"{}"}', {}, 1700000000],
    ["POST", "/apps/app-id/broadcasts", '{"name":"who","channel":{"name":"lobby","consumer":true},"payload":"é"}', {"timeout": "500"}, 1700000001],
    ["GET", "/apps/app-id/channels", "", {"filter_by_prefix": "presence-", "info": "user_count,subscription_count"}, 1700000002],
    ["GET", "/apps/app-id/channels/WyJhcHAtaWQiLCJsb2JieSIsMCwxXQ==", "", {"info": "subscription_count"}, 1700000003],
    ["POST", "/apps/app-id/users/a%20b/terminate_connections", "{}", {}, 1700000004],
    ["POST", "/apps/app-id/events", "", {"odd": "a b&c=d/é+~*'()!", "Zeta": "upper case sorts first"}, 1700000005],
]


def test_request_signatures_match_sign_request_query_live():
    body = """
const { signRequestQuery } = await import(%s);
process.stdout.write(JSON.stringify(input.map(([method, path, body, extra, ts]) =>
  signRequestQuery({ key: 'app-key', secret: 'app-secret' }, method, path, body, extra, ts))));
""" % json.dumps(dist_url("src/index.js"))
    reference = run_node(body, SIGN_CASES)
    ours = [sign_query("app-key", "app-secret", method, path, raw, extra, ts) for method, path, raw, extra, ts in SIGN_CASES]
    assert ours == reference


AUTH_CASES = [
    ["123.456", "private-room", None],
    ["123.456", "presence-room", '{"user_id":"7","user_info":{"name":"Ann"}}'],
    ["9.1", "WyJhcHAtaWQiLCJwcml2YXRlLWxvYmJ5IiwwLDFd", None],
    ["9.1", "presence-é", '{"user_id":7}'],
]
USER_CASES = [["123.456", '{"id":"42","name":"Ann"}'], ["1.2", {"id": "42", "name": "Zoë", "watchlist": ["a"]}]]


def test_channel_and_user_authorization_match_the_typescript_live():
    body = """
const { authorizeChannel, authenticateUser } = await import(%s);
const app = { key: 'app-key', secret: 'app-secret' };
process.stdout.write(JSON.stringify({
  channels: input.channels.map(([socketId, channel, data]) => authorizeChannel(app, socketId, channel, data ?? undefined)),
  users: input.users.map(([socketId, userData]) => authenticateUser(app, socketId, userData)),
}));
""" % json.dumps(dist_url("src/index.js"))
    reference = run_node(body, {"channels": AUTH_CASES, "users": USER_CASES})
    assert [authorize_channel("app-key", "app-secret", *case) for case in AUTH_CASES] == reference["channels"]
    assert [authenticate_user("app-key", "app-secret", *case) for case in USER_CASES] == reference["users"]
    server = Server("http://localhost:1", "app-id", "app-key", "app-secret")
    assert server.authorize_channel("123.456", "private-room") == reference["channels"][0]
    assert server.authenticate_user(*USER_CASES[1]) == reference["users"][1]


def test_channel_data_given_as_a_dict_is_sent_as_the_string_it_signs():
    auth = authorize_channel("k", "secret12", "1.1", "presence-x", {"user_id": "u", "user_info": {"n": "é"}})
    assert auth["channel_data"] == '{"user_id":"u","user_info":{"n":"é"}}'
    assert auth == authorize_channel("k", "secret12", "1.1", "presence-x", auth["channel_data"])
