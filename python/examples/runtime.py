"""Starting the SDK and exp.runtime (seed: "Starting the SDK", "exp.runtime").

exp.start blocks until the connection is established; exp.OptionsError names a bad option and
exp.RuntimeError says the SDK is already running. exp.runtime.on reports online/offline on the SDK's
callbacks thread; exp.runtime.stop() closes the connection and ends the SDK's threads."""

import threading

import exp
from _settings import APP_ID, KEY, URL

online = threading.Event()


def on_online():
    print("Online!")
    online.set()


def on_offline():
    print("Offline!")


exp.runtime.on("online", callback=on_online)
exp.runtime.on("offline", callback=on_offline)

try:
    exp.start(url=URL, key=KEY, app_id=APP_ID, username="joe@exp.com")
except exp.OptionsError as error:
    print("Bad option:", error.option)

exp.start(url=URL, key=KEY, app_id=APP_ID, enable_network=True)
online.wait(5)

try:
    exp.start(url=URL, key=KEY)
except exp.RuntimeError as error:
    print("Already started:", error)

exp.runtime.stop()
