"""Listening (seed: "Communicating on the EXP Network", Listening).

listen() returns once the gateway has confirmed the subscription; wait() blocks until a broadcast arrives
(or 5 s pass and it returns None). Broadcasts that come in while not waiting are queued."""

import exp
from _settings import APP_ID, KEY, URL

exp.start(url=URL, key=KEY, app_id=APP_ID)

channel = exp.get_channel("my_channel")
listener = channel.listen("my_event")
print("Listening.")

while True:
    broadcast = listener.wait(5)
    if broadcast:
        print("Message received!")
        print(broadcast.payload)
        listener.cancel()
        break

exp.runtime.stop()
