"""One WebSocket to the gateway, kept up by one background thread (the Node SDK's ConnectionManager).

The thread connects, reads frames, pings after `activity_timeout` of silence and treats a missing pong as a
lost connection, and on close decides by the code's class (protocol/errors.json): 4000-4099 stop,
4100-4199 back off with jitter, 4200-4299 reconnect at once, anything else (network loss) back off.
"""

import json
import logging
import random
import threading
import time

from . import _websocket
from .errors import ServerError, reconnect_after_close

log = logging.getLogger("exp")


class Connection:
    """Calls, from its thread: events.on_online(socket_id), events.on_offline(will_reconnect),
    events.on_frame(frame) with `data` decoded, events.on_fatal(ServerError)."""

    def __init__(self, options, events):
        self._options = options
        self._events = events
        self._prefix = options.dialect
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._ws = None
        self._thread = None
        self._attempts = 0
        self._activity_timeout = 120.0
        self.socket_id = None
        self.trace = None  # tests: called with ('out'|'in', frame dict)

    @property
    def prefix(self):
        return self._prefix

    @property
    def online(self):
        return self.socket_id is not None

    def start(self):
        self._thread = threading.Thread(target=self._run, name="exp-network", daemon=True)
        self._thread.start()

    def stop(self):
        """Closes the socket with 1000 and ends the thread (waits for it unless called from it)."""
        self._stop.set()
        with self._lock:
            ws = self._ws
        if ws is not None:
            ws.close(1000, "client stopped")
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def send(self, frame):
        """Sends a frame if the connection is up; returns whether it was sent."""
        with self._lock:
            ws = self._ws if self.socket_id is not None else None
        if ws is None:
            return False
        if self.trace:
            self.trace("out", frame)
        try:
            ws.send_text(json.dumps(frame, separators=(",", ":"), ensure_ascii=False))
            return True
        except (OSError, _websocket.Closed):
            ws.abort()  # the reading thread sees the loss and reconnects
            return False

    def _run(self):
        while not self._stop.is_set():
            code, fatal, was_online = _websocket.ABNORMAL, None, False
            try:
                ws = _websocket.WebSocket.connect(self._options.url, self._options.handshake_timeout)
            except (OSError, _websocket.HandshakeError) as error:
                log.debug("exp: cannot connect to %s: %s", self._options.url, error)
                ws = None
            if ws is not None:
                with self._lock:
                    if self._stop.is_set():
                        ws.close(1000, "client stopped")
                    self._ws = ws
                code, fatal = self._read(ws)
                with self._lock:
                    self._ws = None
                    was_online = self.socket_id is not None
                    self.socket_id = None
                ws.abort()
                ws.release()
            if self._stop.is_set():
                if was_online:
                    self._events.on_offline(False)
                return
            kind = reconnect_after_close(code)
            if kind == "never":
                if was_online:
                    self._events.on_offline(False)
                self._events.on_fatal(fatal or ServerError("closed by the server with %d" % code, code=code))
                return
            if was_online:
                self._events.on_offline(True)
            delay = 0 if kind == "immediately" else self._backoff()
            log.debug("exp: connection closed with %d; reconnecting in %.2f s", code, delay)
            if self._stop.wait(delay):
                return

    def _backoff(self):
        """Doubling from min_backoff to max_backoff, with full jitter over the upper half (as the Node SDK)."""
        ceiling = min(self._options.max_backoff, self._options.min_backoff * 2 ** min(self._attempts, 30))
        self._attempts += 1
        return ceiling / 2 + random.random() * ceiling / 2

    def _read(self, ws):
        """Reads until the connection ends; returns (close code, the fatal error frame before it, if any)."""
        options = self._options
        fatal = None
        now = time.monotonic()
        established_by = now + options.handshake_timeout
        ping_at = None  # after activity_timeout of silence
        pong_by = None
        while True:
            deadlines = [d for d in (established_by, ping_at, pong_by) if d is not None]
            timeout = max(0.0, min(deadlines) - time.monotonic()) if deadlines else None
            try:
                message = ws.recv(timeout)
            except _websocket.Closed as closed:
                return closed.code, fatal
            now = time.monotonic()
            if message is None:
                if (pong_by is not None and now >= pong_by) or (established_by is not None and now >= established_by):
                    log.debug("exp: no answer from the server in time; treating the connection as lost")
                    return _websocket.ABNORMAL, fatal
                if ping_at is not None and now >= ping_at:
                    ping_at = None
                    pong_by = now + options.pong_timeout
                    self._send_raw(ws, {"event": self._prefix + ":ping", "data": {}})
                continue
            # Any traffic proves the connection alive.
            pong_by = None
            if self.socket_id is not None:
                ping_at = now + self._activity_timeout
            kind, payload = message
            if kind != "text":
                continue
            frame = _decode(payload)
            if frame is None:
                continue
            if self.trace:
                self.trace("in", frame)
            event = frame.get("event")
            if event == self._prefix + ":connection_established":
                data = frame.get("data") or {}
                self._activity_timeout = float(data.get("activity_timeout") or 120)
                established_by = None
                ping_at = now + self._activity_timeout
                self._attempts = 0
                with self._lock:
                    self.socket_id = str(data.get("socket_id"))
                self._events.on_online(self.socket_id)
                continue
            if event == self._prefix + ":pong":
                continue
            if event == self._prefix + ":error":
                data = frame.get("data") if isinstance(frame.get("data"), dict) else {}
                code = data.get("code")
                # A fatal error frame is followed by a close with the same code; report it with that close.
                if isinstance(code, int) and reconnect_after_close(code) != "none":
                    fatal = ServerError(str(data.get("message", "")), code=code)
            self._events.on_frame(frame)

    def _send_raw(self, ws, frame):
        if self.trace:
            self.trace("out", frame)
        try:
            ws.send_text(json.dumps(frame))
        except (OSError, _websocket.Closed):
            ws.abort()


def _decode(text):
    """A frame with its `data` decoded (the server's `data` is always JSON text), or None."""
    try:
        frame = json.loads(text)
    except ValueError:
        return None
    if not isinstance(frame, dict):
        return None
    data = frame.get("data")
    if isinstance(data, str):
        frame["data_text"] = data  # each listener decodes its own copy of a payload from it
        try:
            frame["data"] = json.loads(data)
        except ValueError:
            pass
    return frame
