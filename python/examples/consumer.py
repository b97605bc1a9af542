"""Consumer apps (seed: Channels). A consumer key may only listen and broadcast on consumer channels;
consumer=False channels refuse it, and nobody but the backend broadcasts on system channels.

Run it with the demo app: it plays both the app (trusted key) and a consumer device (consumer key)."""

import exp
from _settings import APP_ID, CONSUMER_KEY, KEY, TIMEOUT, URL

# The app itself, with the trusted key, listens on the consumer channel and answers devices.
app = exp.Client(url=URL, key=KEY, app_id=APP_ID).start()
app.get_channel("my_channel", consumer=True).listen("my_event", callback=lambda broadcast: broadcast.respond("Hello, consumer device!"))

# A consumer device, with a consumer key.
exp.start(url=URL, key=CONSUMER_KEY, app_id=APP_ID)

channel = exp.get_channel("my_channel", system=False, consumer=True)
print("Consumer channel ID:", channel.wire)
responses = channel.broadcast(name="my_event", timeout=TIMEOUT, payload="hello")
print("Responses:", responses)

try:
    exp.get_channel("my_channel").listen("my_event")
except exp.ServerError as error:
    print("Refused on a non-consumer channel:", error.status, error.type)

try:
    exp.get_channel("my_channel").broadcast("my_event", payload="hello", timeout=TIMEOUT)
except exp.ServerError as error:
    print("Broadcast refused:", error.code, error.name)

try:
    exp.get_channel("updates", system=True).broadcast("update", timeout=TIMEOUT)
except exp.ServerError as error:
    print("System channels are the backend's:", error.code, error.name)

exp.runtime.stop()
app.stop()
