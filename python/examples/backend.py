"""A Python backend: publish with the signed REST API, broadcast and collect responses, and sign the
subscriptions of private and presence channels for an auth endpoint."""

import exp
from _settings import APP_ID, KEY, SECRET, URL
from exp.server import Server

server = Server(url=URL, app_id=APP_ID, key=KEY, secret=SECRET)

# A device (the SDK) listening on a system channel: only the backend may broadcast there.
device = exp.Client(url=URL, key=KEY, app_id=APP_ID).start()
device.get_channel("updates", system=True).listen("update", callback=lambda broadcast: broadcast.respond({"applied": broadcast.payload}))

print("Responses:", server.broadcast({"name": "updates", "system": True}, "update", {"version": 2}, timeout_ms=500))
print("Trigger:", server.trigger(["news"], "headline", {"title": "Hello"}))
print("Channels:", sorted(server.channels()["channels"]))

# What an auth endpoint returns for a private channel (the SDK's authorizer option calls something like it).
print("Auth:", server.authorize_channel("123.456", "private-room"))

device.stop()
