"""Responding (seed: "Communicating on the EXP Network", Responding). Answers every 'hello' until stopped
with Ctrl-C. (The seed compares with `is`, which is wrong for strings in Python; this uses ==.)"""

import exp
from _settings import APP_ID, KEY, URL

exp.start(url=URL, key=KEY, app_id=APP_ID)

channel = exp.get_channel("my_channel")
listener = channel.listen(name="my_event")
print("Listening.")

try:
    while True:
        broadcast = listener.wait(5)
        if broadcast and broadcast.payload == "hello":
            print("Responding to broadcast.")
            broadcast.respond("Nice to meet you!")
except KeyboardInterrupt:
    pass
finally:
    exp.runtime.stop()
