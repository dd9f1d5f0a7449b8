#!/usr/bin/env python3
"""Compose a message with Python's email package for posthorn's e2e tests.

Python's email package is an independent MIME composer: what it writes
(RFC 2047 subjects, RFC 2231 filenames with continuations, base64 and
quoted-printable parts) is what posthorn's parser must read back exactly.

Reads a JSON request on stdin:
  {"from": "Name <a@b>", "to": ["c@d"], "subject": "...",
   "text": "...", "html": "..." | null,
   "attachments": [{"filename": "...", "maintype": "application",
                    "subtype": "octet-stream", "data_b64": "..."} |
                   {"filename": "...", "text": "...", "subtype": "plain"}]}
A "text" attachment is added as a str (charset utf-8, Python picks the
transfer encoding); a "data_b64" one as bytes (base64).
Prints {"data_b64": "..."}: the message with CRLF line endings
(email.policy.SMTP), without Date or Message-ID unless asked with
"date": true.
"""
import base64
import email.policy
import email.utils
import json
import sys
from email.message import EmailMessage


def main():
    req = json.load(sys.stdin)
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["From"] = req["from"]
    msg["To"] = ", ".join(req["to"])
    msg["Subject"] = req["subject"]
    if req.get("date"):
        msg["Date"] = email.utils.formatdate()
        msg["Message-ID"] = email.utils.make_msgid(domain="client.example.org")
    msg.set_content(req["text"])
    if req.get("html"):
        msg.add_alternative(req["html"], subtype="html")
    for a in req.get("attachments", []):
        if "text" in a:
            msg.add_attachment(a["text"], subtype=a.get("subtype", "plain"),
                               filename=a["filename"])
        else:
            msg.add_attachment(base64.b64decode(a["data_b64"]), maintype=a["maintype"],
                               subtype=a["subtype"], filename=a["filename"])
    data = msg.as_bytes(policy=email.policy.SMTP)
    json.dump({"data_b64": base64.b64encode(data).decode()}, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
