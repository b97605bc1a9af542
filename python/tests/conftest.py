"""Fixtures: the real gateway CLI (dist/src/main.js, built by `npm run build`) as a child process on a free
port, and clients that are always stopped. Nothing here builds the gateway; without dist/ the run stops
with one line saying so."""

import json
import os
import shutil
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # the package under test: python/exp
sys.path.insert(0, HERE)

from gateway import MAIN, Gateway  # noqa: E402

import exp  # noqa: E402


def pytest_configure(config):
    if shutil.which("node") is None:
        raise pytest.UsageError("node is not on PATH: the Python SDK tests run the real gateway (Node 20)")
    if not os.path.exists(MAIN):
        raise pytest.UsageError("%s is missing: run npm run build first" % os.path.relpath(MAIN))


# The config every shared gateway runs with: the demo app as the CLI serves it (a consumer key, and
# clientBroadcasts "all": EXP's trust model) with room for many broadcasts, and a second app that allows two
# channels per connection.
CONFIG = {
    "logLevel": "warn",
    "apps": [
        {
            "id": "app-id",
            "key": "app-key",
            "secret": "app-secret",
            "consumerKeys": ["app-consumer-key"],
            "clientBroadcasts": "all",
            "maxBroadcastsPerSecond": 1000,
            "maxPendingBroadcastsPerConnection": 100,
            "broadcastTimeoutMs": 200,
        },
        {"id": "tight-id", "key": "tight-key", "secret": "tight-secret", "maxChannelsPerConnection": 2},
    ],
}


@pytest.fixture(scope="session")
def config_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("gateway") / "config.json"
    path.write_text(json.dumps(CONFIG))
    return str(path)


@pytest.fixture(scope="session")
def gateway(config_file, tmp_path_factory):
    """One gateway for the tests that do not stop or pause it."""
    gw = Gateway(config_file, log_dir=str(tmp_path_factory.mktemp("logs"))).start()
    yield gw
    gw.stop()


@pytest.fixture
def own_gateway(config_file, tmp_path):
    """A gateway of this test's own, to kill, pause or restart; its port is outside the ephemeral range so
    a restart can bind it again."""
    gateways = []

    def make(**kwargs):
        gw = Gateway(config_file, log_dir=str(tmp_path), **kwargs).start()
        gateways.append(gw)
        return gw

    yield make
    for gw in gateways:
        gw.stop()


@pytest.fixture
def connect(gateway):
    """connect(**options) -> a started exp.Client on the shared gateway (demo app key unless given)."""
    clients = []

    def make(gw=None, **options):
        gw = gw or gateway
        options.setdefault("key", "app-key")
        options.setdefault("app_id", "app-id")
        client = exp.Client(url=gw.url, **options)
        clients.append(client)
        return client.start()

    yield make
    for client in clients:
        client.stop()


@pytest.fixture
def rest(gateway):
    return exp.server.Server(gateway.http_url, "app-id", "app-key", "app-secret")


@pytest.fixture(autouse=True)
def module_runtime_stopped():
    """Whatever a test does with exp.start(), the module's runtime is stopped after it."""
    yield
    exp.runtime.stop()
