"""The SDK's copy of the close-code classes and error codes is protocol/errors.json's."""

import json
import os

from exp.errors import CLOSE_CLASSES, WEBSOCKET_ERRORS, reconnect_after_close
from gateway import ROOT


def test_tables_match_protocol_errors_json():
    with open(os.path.join(ROOT, "protocol", "errors.json")) as f:
        catalogue = json.load(f)
    assert [(c["from"], c["to"], c["reconnect"]) for c in catalogue["classes"]] == list(CLOSE_CLASSES)
    assert {entry["code"]: name for name, entry in catalogue["websocket"].items()} == WEBSOCKET_ERRORS


def test_reconnect_classes():
    assert reconnect_after_close(4001) == "never"
    assert reconnect_after_close(4101) == "backoff"
    assert reconnect_after_close(4200) == "immediately"
    assert reconnect_after_close(1006) == "backoff"
    assert reconnect_after_close(1000) == "backoff"
