#!/usr/bin/env python3
"""Submit one message with smtplib and AUTH (RFC 6409, RFC 4954) for posthorn's e2e tests.

Reads a JSON request on stdin:
  {"host": "127.0.0.1", "port": 2587,
   "tls": "starttls" | "implicit",   # submission (587) or submissions (465)
   "cafile": "/path/cert.pem",       # the server's self-signed certificate, verified
   "user": "u@d", "pass": "pw",
   "from": "u@d", "to": ["c@d"],
   "data_b64": "...",                # the message, CRLF line endings, not dot-stuffed
   "helo": "client.example.org", "timeout": 60}
and prints one JSON object on stdout:
  {"ok": bool, "stage": "connect|starttls|login|send", "code": N, "error": "...",
   "refused": {"rcpt": [code, "text"]},
   "auth_before_tls": bool|null,   # STARTTLS only: did the first EHLO offer AUTH?
   "auth_mechs": "PLAIN LOGIN"}    # what EHLO offered once TLS was up
"ok" means the server said 250 after the final dot. The certificate is
verified against cafile, host name (the IP address) included. Exit status
is 0 unless the script itself is broken; the Go test judges the JSON.
"""
import base64
import json
import smtplib
import ssl
import sys


def text(b):
    if isinstance(b, bytes):
        return b.decode("utf-8", "replace")
    return str(b)


def refused_map(d):
    return {k: [v[0], text(v[1])] for k, v in d.items()}


def main():
    req = json.load(sys.stdin)
    out = {"ok": False, "refused": {}, "stage": "connect", "auth_before_tls": None}
    data = base64.b64decode(req["data_b64"])
    ctx = ssl.create_default_context(cafile=req["cafile"])
    helo = req.get("helo", "client.example.org")
    timeout = req.get("timeout", 60)
    s = None
    try:
        if req["tls"] == "implicit":
            s = smtplib.SMTP_SSL(req["host"], req["port"], local_hostname=helo,
                                 timeout=timeout, context=ctx)
            s.ehlo()
        else:
            s = smtplib.SMTP(req["host"], req["port"], local_hostname=helo, timeout=timeout)
            s.ehlo()
            out["auth_before_tls"] = s.has_extn("auth")
            out["stage"] = "starttls"
            s.starttls(context=ctx)
            s.ehlo()
        out["auth_mechs"] = s.esmtp_features.get("auth", "")
        out["stage"] = "login"
        s.login(req["user"], req["pass"])
        out["stage"] = "send"
        refused = s.sendmail(req["from"], req["to"], data)
        out["ok"] = True
        out["refused"] = refused_map(refused)
    except smtplib.SMTPRecipientsRefused as e:
        out["refused"] = refused_map(e.recipients)
        out["error"] = "all recipients refused"
    except smtplib.SMTPResponseException as e:
        out["code"] = e.smtp_code
        out["error"] = "%s: %d %s" % (type(e).__name__, e.smtp_code, text(e.smtp_error))
    except Exception as e:  # connection refused, timeouts, TLS errors
        out["error"] = "%s: %s" % (type(e).__name__, e)
    finally:
        if s is not None:
            try:
                s.quit()
            except Exception:
                pass
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
