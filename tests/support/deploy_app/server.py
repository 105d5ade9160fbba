"""The app the deploy tests ship: /health, a protected /items, and failure modes by build."""

import json
import os
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODE = os.environ.get("APP_MODE", "ok")
if MODE == "crash":
    print("crashing at boot, as built", flush=True)
    sys.exit(3)
VERSION = os.environ.get("APP_VERSION", "dev")
TOKEN = os.environ.get("API_TOKEN", "")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        if self.path == "/health":
            ok = MODE != "unhealthy"
            version = "0.0.0-wrong" if MODE == "wrong-version" else VERSION
            body = {
                "status": "ok" if ok else "degraded",
                "version": version,
                "components": {"app": True, "database": ok},
            }
            self.send(200 if ok else 503, body)
        elif self.path == "/items":
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                self.send(401, {"detail": "missing or wrong token"})
            else:
                self.send(200, [{"id": 1}])
        else:
            self.send(404, {"detail": "not found"})

    def send(self, code: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


BIND = os.environ.get("BIND", "127.0.0.1")  # a swarm task publishes its port: 0.0.0.0
server = ThreadingHTTPServer((BIND, int(os.environ["PORT"])), Handler)
server.daemon_threads = True
signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
print(f"serving {VERSION} on {os.environ['PORT']}", flush=True)
server.serve_forever()
