"""Broadcasting (seed: "Communicating on the EXP Network", Broadcasting).

The broadcast blocks for about the timeout and returns the list of response payloads. Run respond.py first
to get an answer."""

import exp
from _settings import APP_ID, KEY, TIMEOUT, URL

exp.start(url=URL, key=KEY, app_id=APP_ID)

channel = exp.get_channel("my_channel")
responses = channel.broadcast(name="my_event", timeout=TIMEOUT, payload="hello")
for response in responses:
    print(response)

exp.runtime.stop()
