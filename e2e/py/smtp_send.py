#!/usr/bin/env python3
"""Send one message with smtplib (a real SMTP client) for posthorn's e2e tests.

Reads a JSON request on stdin:
  {"host": "127.0.0.1", "port": 2525, "from": "a@b", "to": ["c@d"],
   "data_b64": "...",        # the message, CRLF line endings, not dot-stuffed
   "starttls": false, "helo": "client.example.org", "timeout": 60}
and prints one JSON object on stdout:
  {"ok": true|false, "refused": {"rcpt": [code, "text"]}, "code": N, "error": "..."}
"ok" means smtplib saw 250 after the final dot. Exit status is 0 unless the
script itself is broken; the Go test judges the JSON.
"""
import base64
import json
import smtplib
import ssl
import sys


def refused_map(d):
    return {k: [v[0], v[1].decode("utf-8", "replace")] for k, v in d.items()}


def main():
    req = json.load(sys.stdin)
    out = {"ok": False, "refused": {}}
    data = base64.b64decode(req["data_b64"])
    try:
        s = smtplib.SMTP(req["host"], req["port"],
                         local_hostname=req.get("helo", "client.example.org"),
                         timeout=req.get("timeout", 60))
        try:
            if req.get("starttls"):
                ctx = ssl.create_default_context()
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
                s.starttls(context=ctx)
            refused = s.sendmail(req["from"], req["to"], data)
            out["ok"] = True
            out["refused"] = refused_map(refused)
        finally:
            try:
                s.quit()
            except Exception:
                pass
    except smtplib.SMTPRecipientsRefused as e:
        out["refused"] = refused_map(e.recipients)
        out["error"] = "all recipients refused"
    except smtplib.SMTPResponseException as e:
        out["code"] = e.smtp_code
        msg = e.smtp_error
        if isinstance(msg, bytes):
            msg = msg.decode("utf-8", "replace")
        out["error"] = "%s: %d %s" % (type(e).__name__, e.smtp_code, msg)
    except Exception as e:  # connection refused, timeouts, TLS errors
        out["error"] = "%s: %s" % (type(e).__name__, e)
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
