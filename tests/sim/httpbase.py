"""What the sim's HTTP servers share: a threaded loopback server on a free port, body
reading with a size cap, responses with Content-Length (connections are kept alive,
as clients reuse them), and the fault kinds that act on the connection itself."""
import http.server
import os
import socket
import sys
import time

MAX_BODY = 2 * 1024 * 1024


class BodyTooLarge(Exception):
    pass


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, handler, app, **attrs):
        super().__init__(("127.0.0.1", 0), handler)
        self.app = app
        for key, value in attrs.items():
            setattr(self, key, value)

    @property
    def port(self):
        return self.server_address[1]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: without TCP_NODELAY the body waits
    # ~40 ms on a reused connection (Nagle against the client's delayed ACK).
    disable_nagle_algorithm = True
    server_version = "sim"
    sys_version = ""

    @property
    def app(self):
        return self.server.app

    def log_message(self, fmt, *args):
        if self.app.verbose:
            sys.stderr.write(f"sim {self.server.name}: {fmt % args}\n")

    def read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            raise BodyTooLarge("chunked bodies are not accepted")
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            raise BodyTooLarge("bad Content-Length") from None
        if length < 0 or length > MAX_BODY:
            raise BodyTooLarge(f"body of {length} bytes is over the cap")
        return self.rfile.read(length) if length else b""

    def respond(self, status, body=b"", content_type="text/plain", headers=(),
                truncate=False):
        if isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        if truncate:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body[:len(body) // 2] if truncate else body)
        if truncate:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_WR)

    def drop(self):
        """Closes the connection without an answer (and with a reset, like a dead peer)."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       b"\x01\x00\x00\x00\x00\x00\x00\x00")
        except OSError:
            pass

    def connection_fault(self, fault):
        """Applies the fault kinds that do not depend on the protocol. Returns True when
        the request has been answered (or dropped), False to go on serving it."""
        if fault is None:
            return False
        if fault.kind == "latency":
            time.sleep(fault.seconds)
            return False
        if fault.kind == "drop":
            self.drop()
            return True
        if fault.kind == "garbage":
            self.respond(200, os.urandom(64) + b"\x00<<not what you expected>>\xff",
                         "application/octet-stream")
            return True
        return False
