"""A small RFC 6455 WebSocket client on the standard library (socket, ssl, select).

What the SDK needs and no more: the opening handshake (ws:// and wss://), masked text frames out, text,
binary, ping, pong and close frames in (fragmented messages reassembled), pings answered with pongs, and
reads with a timeout that keep a partly received frame for the next call. One thread reads; any thread may
send (sends are serialised by a lock).

Why not websocket-client (Debian's python3-websocket)? The interpreter `python3` is on a fresh machine of
this project has no way to install it (no PyPI, and Debian's package is only visible to /usr/bin/python3),
so the SDK depends on nothing outside the standard library.
"""

import base64
import hashlib
import os
import select
import socket
import ssl
import struct
import threading
import time
from urllib.parse import urlsplit

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_MAX_HEADER_BYTES = 16384
_MAX_MESSAGE_BYTES = 64 * 1024 * 1024

OP_CONTINUATION, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA

# Close codes that never travel in a close frame (RFC 6455 §7.4.1).
NO_STATUS = 1005
ABNORMAL = 1006


class HandshakeError(Exception):
    """The server did not upgrade the connection."""


class Closed(Exception):
    """The connection is closed: `code` is the server's close code, or 1006 when it ended without one."""

    def __init__(self, code, reason=""):
        super().__init__("closed with %d%s" % (code, ": " + reason if reason else ""))
        self.code = code
        self.reason = reason


def _mask(key, data):
    """XOR `data` with the 4-byte key repeated, as one big-integer operation (fast enough in pure Python)."""
    size = len(data)
    if size == 0:
        return b""
    repeated = (key * (size // 4 + 1))[:size]
    return (int.from_bytes(data, "big") ^ int.from_bytes(repeated, "big")).to_bytes(size, "big")


def encode_frame(opcode, payload, fin=True):
    """A masked client frame."""
    header = bytearray([(0x80 if fin else 0) | opcode])
    size = len(payload)
    if size < 126:
        header.append(0x80 | size)
    elif size < 65536:
        header.append(0x80 | 126)
        header += struct.pack("!H", size)
    else:
        header.append(0x80 | 127)
        header += struct.pack("!Q", size)
    key = os.urandom(4)
    return bytes(header) + key + _mask(key, payload)


class WebSocket:
    """One client connection. Create it with WebSocket.connect(url, timeout)."""

    def __init__(self, sock, leftover=b"", io_timeout=10.0):
        self._sock = sock
        self._buffer = bytearray(leftover)
        self._fragments = None  # (opcode, [payloads]) of a message being reassembled
        self._send_lock = threading.Lock()
        self._close_sent = False
        sock.settimeout(io_timeout)

    @classmethod
    def connect(cls, url, timeout=10.0, headers=None):
        """Opens the TCP (and TLS) connection and performs the opening handshake within `timeout` seconds.
        Raises OSError (refused, unreachable, timed out) or HandshakeError."""
        parts = urlsplit(url)
        if parts.scheme not in ("ws", "wss"):
            raise ValueError("not a ws:// or wss:// URL: %s" % url)
        secure = parts.scheme == "wss"
        host = parts.hostname or ""
        port = parts.port or (443 if secure else 80)
        deadline = time.monotonic() + timeout
        sock = socket.create_connection((host, port), timeout=timeout)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if secure:
                sock = ssl.create_default_context().wrap_socket(sock, server_hostname=host)
            key = base64.b64encode(os.urandom(16)).decode("ascii")
            target = (parts.path or "/") + ("?" + parts.query if parts.query else "")
            default_port = 443 if secure else 80
            host_header = host if ":" not in host else "[%s]" % host
            if parts.port and parts.port != default_port:
                host_header += ":%d" % parts.port
            lines = [
                "GET %s HTTP/1.1" % target,
                "Host: %s" % host_header,
                "Upgrade: websocket",
                "Connection: Upgrade",
                "Sec-WebSocket-Key: %s" % key,
                "Sec-WebSocket-Version: 13",
            ]
            for name, value in (headers or {}).items():
                lines.append("%s: %s" % (name, value))
            sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
            head, leftover = _read_head(sock, deadline)
            _check_upgrade(head, key)
            return cls(sock, leftover, io_timeout=timeout)
        except BaseException:
            sock.close()
            raise

    def send_text(self, text):
        self._send(OP_TEXT, text.encode("utf-8"))

    def send_ping(self, payload=b""):
        self._send(OP_PING, payload)

    def _send(self, opcode, payload):
        frame = encode_frame(opcode, payload)
        with self._send_lock:
            if self._close_sent:
                raise Closed(ABNORMAL, "the connection is closing")
            self._sock.sendall(frame)

    def recv(self, timeout):
        """The next message as ('text', str) or ('binary', bytes), ('pong', bytes) for a pong (which proves
        the connection alive), or None when nothing complete arrived within `timeout` seconds (None waits
        indefinitely). Pings are answered here. Raises Closed when the connection ends."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            message = self._next_message()
            if message is not None:
                return message
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return None
            if not self._fill(remaining):
                return None

    def close(self, code=1000, reason=""):
        """Sends a close frame (once) and shuts the socket down; the reading thread sees Closed."""
        payload = struct.pack("!H", code) + reason.encode("utf-8")[:123]
        with self._send_lock:
            if not self._close_sent:
                self._close_sent = True
                try:
                    self._sock.sendall(encode_frame(OP_CLOSE, payload))
                except OSError:
                    pass
        self.abort()

    def abort(self):
        """Ends the connection without a close handshake (wakes a thread blocked in recv)."""
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def release(self):
        """Frees the socket; call once no thread uses it."""
        try:
            self._sock.close()
        except OSError:
            pass

    def _fill(self, timeout):
        """Reads more bytes into the buffer; False when none came within `timeout`."""
        pending = self._sock.pending() if isinstance(self._sock, ssl.SSLSocket) else 0
        if pending == 0:
            try:
                readable, _, _ = select.select([self._sock], [], [], timeout)
            except (OSError, ValueError):
                raise Closed(ABNORMAL, "the socket was closed")
            if not readable:
                return False
        try:
            chunk = self._sock.recv(65536)
        except ssl.SSLWantReadError:
            return True
        except (OSError, ValueError) as error:
            raise Closed(ABNORMAL, str(error))
        if not chunk:
            raise Closed(ABNORMAL, "the server ended the connection without a close frame")
        self._buffer += chunk
        return True

    def _next_frame(self):
        """(fin, opcode, payload) of one complete frame taken from the buffer, or None."""
        buffer = self._buffer
        if len(buffer) < 2:
            return None
        first, second = buffer[0], buffer[1]
        size = second & 0x7F
        offset = 2
        if size == 126:
            if len(buffer) < 4:
                return None
            size = struct.unpack_from("!H", buffer, 2)[0]
            offset = 4
        elif size == 127:
            if len(buffer) < 10:
                return None
            size = struct.unpack_from("!Q", buffer, 2)[0]
            offset = 10
        if size > _MAX_MESSAGE_BYTES:
            raise Closed(1009, "frame of %d bytes is too large" % size)
        masked = bool(second & 0x80)
        key = b""
        if masked:  # servers must not mask, but unmasking costs nothing
            if len(buffer) < offset + 4:
                return None
            key = bytes(buffer[offset : offset + 4])
            offset += 4
        if len(buffer) < offset + size:
            return None
        payload = bytes(buffer[offset : offset + size])
        del buffer[: offset + size]
        if masked:
            payload = _mask(key, payload)
        return bool(first & 0x80), first & 0x0F, payload

    def _next_message(self):
        while True:
            frame = self._next_frame()
            if frame is None:
                return None
            fin, opcode, payload = frame
            if opcode == OP_PING:
                try:
                    self._send(OP_PONG, payload)
                except (OSError, Closed):
                    pass
                continue
            if opcode == OP_PONG:
                return ("pong", payload)
            if opcode == OP_CLOSE:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else NO_STATUS
                reason = payload[2:].decode("utf-8", "replace")
                self.close(code if code not in (NO_STATUS, ABNORMAL) else 1000)
                raise Closed(code, reason)
            if opcode == OP_CONTINUATION:
                if self._fragments is None:
                    raise Closed(1002, "continuation frame without a message")
                self._fragments[1].append(payload)
                if not fin:
                    continue
                opcode, parts = self._fragments
                self._fragments = None
                payload = b"".join(parts)
            elif not fin:
                self._fragments = (opcode, [payload])
                continue
            if opcode == OP_TEXT:
                return ("text", payload.decode("utf-8", "replace"))
            if opcode == OP_BINARY:
                return ("binary", payload)
            raise Closed(1002, "unknown opcode %d" % opcode)


def _read_head(sock, deadline):
    data = b""
    while b"\r\n\r\n" not in data:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise socket.timeout("no handshake answer in time")
        sock.settimeout(remaining)
        chunk = sock.recv(4096)
        if not chunk:
            raise HandshakeError("the server closed the connection during the handshake")
        data += chunk
        if len(data) > _MAX_HEADER_BYTES:
            raise HandshakeError("handshake answer too large")
    head, _, leftover = data.partition(b"\r\n\r\n")
    return head.decode("latin-1"), leftover


def _check_upgrade(head, key):
    lines = head.split("\r\n")
    status = lines[0].split(" ", 2)
    if len(status) < 2 or status[1] != "101":
        raise HandshakeError("the server answered %r instead of upgrading" % lines[0])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    expected = base64.b64encode(hashlib.sha1(key.encode("ascii") + _GUID).digest()).decode("ascii")
    if headers.get("upgrade", "").lower() != "websocket" or headers.get("sec-websocket-accept") != expected:
        raise HandshakeError("the server's upgrade answer is not a valid WebSocket handshake")
