"""An SMTP server that requires STARTTLS and then authentication, storing mail in a Maildir.

    smtpauth.py PORT MAILDIR USER PASSWORD_FILE CERT KEY

Listens on 127.0.0.1:PORT (aiosmtpd). AUTH PLAIN and LOGIN are accepted only after STARTTLS
and only for USER with the password in PASSWORD_FILE (first line); mail from a client that
did not authenticate is refused.
"""
import ssl
import sys
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox
from aiosmtpd.smtp import AuthResult, LoginPassword

PORT, MAILDIR, USER, PWFILE, CERT, KEY = sys.argv[1:7]
with open(PWFILE, encoding="utf-8") as f:
    PASSWORD = f.readline().rstrip("\r\n")


def authenticate(server, session, envelope, mechanism, auth_data):
    ok = (isinstance(auth_data, LoginPassword) and auth_data.login.decode() == USER
          and auth_data.password.decode() == PASSWORD)
    return AuthResult(success=ok)


ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(CERT, KEY)
controller = Controller(Mailbox(MAILDIR), hostname="127.0.0.1", port=int(PORT),
                        authenticator=authenticate, auth_required=True, tls_context=ctx,
                        require_starttls=True)
controller.start()
threading.Event().wait()
