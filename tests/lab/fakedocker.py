"""A Docker Engine API stand-in on a unix socket whose containers a test controls.

    fakedocker.py SOCKET STATE_FILE

Answers GET /version, /containers/json and /containers/ID/json like dockerd does, for the
containers described by STATE_FILE, read again on every request: one line per container,
"NAME STATE", STATE being healthy, unhealthy, running or exited. Every container carries the
compose label project=hyperbdr. A missing state file means no containers.

Used where a test must change what `hmctl check` collects between runs (alert timing across
separate processes) without waiting on a real daemon's health checks.
"""
import json
import os
import socketserver
import sys
from http.server import BaseHTTPRequestHandler

SOCK, STATE = sys.argv[1], sys.argv[2]


def containers():
    out = []
    try:
        with open(STATE, encoding="utf-8") as f:
            lines = f.read().split("\n")
    except FileNotFoundError:
        return out
    for line in lines:
        parts = line.split()
        if len(parts) != 2:
            continue
        name, state = parts
        out.append((name, state))
    return out


def summary(name, state):
    running = state != "exited"
    status = {"healthy": "Up 5 minutes (healthy)", "unhealthy": "Up 5 minutes (unhealthy)",
              "running": "Up 5 minutes", "exited": "Exited (1) 2 minutes ago"}[state]
    return {
        "Id": "id-" + name, "Names": ["/" + name], "Image": "hmlab", "Command": "sleep",
        "Created": 1767225600, "State": "running" if running else "exited", "Status": status,
        "Labels": {"com.docker.compose.project": "hyperbdr",
                   "com.docker.compose.service": name},
    }


def inspect(name, state):
    doc = {
        "Id": "id-" + name, "Name": "/" + name, "RestartCount": 0,
        "State": {"Status": "exited" if state == "exited" else "running",
                  "Running": state != "exited", "ExitCode": 1 if state == "exited" else 0,
                  "StartedAt": "2026-01-01T00:00:00Z", "FinishedAt": "0001-01-01T00:00:00Z"},
        "Config": {"Labels": {"com.docker.compose.project": "hyperbdr",
                              "com.docker.compose.service": name}},
    }
    if state in ("healthy", "unhealthy"):
        doc["State"]["Health"] = {"Status": state, "FailingStreak": 0, "Log": []}
    return doc


class Handler(BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        pass

    def address_string(self):
        return "unix"

    def do_GET(self):
        path = self.path.split("?")[0]
        cs = containers()
        if path == "/version" or path.endswith("/version"):
            return self.send(200, {"Version": "24.0.7", "ApiVersion": "1.43"})
        if path.endswith("/containers/json"):
            return self.send(200, [summary(n, s) for n, s in cs])
        for n, s in cs:
            if path.endswith("/containers/id-%s/json" % n):
                return self.send(200, inspect(n, s))
        return self.send(404, {"message": "No such container"})

    def send(self, code, doc):
        data = json.dumps(doc).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class Server(socketserver.ThreadingUnixStreamServer):
    daemon_threads = True


if os.path.exists(SOCK):
    os.unlink(SOCK)
Server(SOCK, Handler).serve_forever()
