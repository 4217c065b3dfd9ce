"""The lab's webhook receiver: records every request and checks its signature.

    hookrecv.py PORT DIR SECRET_FILE

Listens on 127.0.0.1:PORT. Each request is written to DIR/NNNNNN.json as
{"seq", "method", "path", "query", "headers", "body", "verified", "why"}, where "verified" is
true or false when the request carries a signature this receiver knows, null otherwise:

  /webhook...   X-Hmctl-Signature: sha256=HEX, HMAC-SHA256(secret, body)
  /dingtalk...  ?timestamp=MS&sign=S, S = urlencode(base64(HMAC-SHA256(secret, MS "\\n" secret)))
                (DingTalk custom robot, 加签)
  /feishu...    body {"timestamp": "S", "sign": B}, B = base64(HMAC-SHA256(S "\\n" secret, ""))
                (Feishu custom bot, 签名校验)

Answers as the real services do: DingTalk and WeCom {"errcode":0,"errmsg":"ok"}, Feishu
{"code":0,"msg":"success"}, Slack "ok", others {"status":"ok"}. While DIR/fail exists every
request is answered 500 (after being recorded with "refused": true); while DIR/errcode exists
DingTalk-style paths get {"errcode": 310000, "errmsg": "sign not match"}.
"""
import base64
import hashlib
import hmac
import json
import os
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT, DIR, SECRET_FILE = int(sys.argv[1]), sys.argv[2], sys.argv[3]
with open(SECRET_FILE, encoding="utf-8") as f:
    SECRET = f.readline().rstrip("\r\n")
LOCK = threading.Lock()
os.makedirs(DIR, exist_ok=True)


def next_seq():
    with LOCK:
        path = os.path.join(DIR, ".seq")
        try:
            with open(path, encoding="ascii") as f:
                n = int(f.read() or "0")
        except FileNotFoundError:
            n = 0
        n += 1
        with open(path, "w", encoding="ascii") as f:
            f.write(str(n))
        return n


def b64_hmac(key, data):
    return base64.b64encode(hmac.new(key.encode(), data.encode(), hashlib.sha256).digest()).decode()


def verify(path, query, headers, body):
    """(verified, why): None when the request carries no signature this receiver knows."""
    if path.startswith("/webhook"):
        sig = headers.get("X-Hmctl-Signature")
        if sig is None:
            return None, "unsigned"
        want = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(sig, want), "hmac-sha256 over the body"
    if path.startswith("/dingtalk"):
        ts, sign = query.get("timestamp", [None])[0], query.get("sign", [None])[0]
        if ts is None or sign is None:
            return None, "unsigned"
        want = b64_hmac(SECRET, ts + "\n" + SECRET)
        return hmac.compare_digest(sign, want), "dingtalk timestamp+secret"
    if path.startswith("/feishu"):
        try:
            doc = json.loads(body)
        except ValueError:
            return False, "body is not JSON"
        ts, sign = doc.get("timestamp"), doc.get("sign")
        if ts is None or sign is None:
            return None, "unsigned"
        want = base64.b64encode(
            hmac.new((ts + "\n" + SECRET).encode(), b"", hashlib.sha256).digest()).decode()
        return hmac.compare_digest(sign, want), "feishu timestamp+secret"
    return None, "no signature scheme for this path"


class Handler(BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        pass

    def handle_any(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        ok, why = verify(url.path, query, self.headers, body)
        refused = os.path.exists(os.path.join(DIR, "fail"))
        seq = next_seq()
        rec = {
            "seq": seq,
            "method": self.command,
            "path": url.path,
            "query": {k: v[0] for k, v in query.items()},
            "headers": {k: v for k, v in self.headers.items()},
            "body": body.decode("utf-8", "replace"),
            "verified": ok,
            "why": why,
            "refused": refused,
        }
        tmp = os.path.join(DIR, ".%06d.tmp" % seq)
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(rec, f, ensure_ascii=False)
        os.rename(tmp, os.path.join(DIR, "%06d.json" % seq))
        if refused:
            self.answer(500, "text/plain", b"refused by the test\n")
        elif url.path.startswith(("/dingtalk", "/wecom")):
            if os.path.exists(os.path.join(DIR, "errcode")):
                doc = {"errcode": 310000, "errmsg": "sign not match"}
            else:
                doc = {"errcode": 0, "errmsg": "ok"}
            self.answer(200, "application/json", json.dumps(doc).encode())
        elif url.path.startswith("/feishu"):
            self.answer(200, "application/json", b'{"code":0,"msg":"success"}')
        elif url.path.startswith("/slack"):
            self.answer(200, "text/plain", b"ok")
        else:
            self.answer(200, "application/json", b'{"status":"ok"}')

    def answer(self, code, ctype, data):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = handle_any


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


Server(("127.0.0.1", PORT), Handler).serve_forever()
