"""Where the examples connect: the demo app of `npm start` unless EXP_URL, EXP_KEY, EXP_APP_ID say otherwise."""

import os

URL = os.environ.get("EXP_URL", "ws://localhost:6001")
KEY = os.environ.get("EXP_KEY", "app-key")
CONSUMER_KEY = os.environ.get("EXP_CONSUMER_KEY", "app-consumer-key")
APP_ID = os.environ.get("EXP_APP_ID", "app-id")
SECRET = os.environ.get("EXP_SECRET", "app-secret")
# The seed's broadcasts wait 5 s for responses; the tests shorten it.
TIMEOUT = float(os.environ.get("EXP_TIMEOUT", "5"))
