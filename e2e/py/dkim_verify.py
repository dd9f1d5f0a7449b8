#!/usr/bin/env python3
"""Verify the DKIM-Signature fields of one message with dkimpy (Debian's
python3-dkim) for posthorn's e2e tests, with the public keys given in the
request instead of DNS, so the check is independent of posthorn's own
verifier and of any resolver.

Reads a JSON request on stdin:
  {"data_b64": "...",                       # the message as received, CRLF
   "txt": {"sel._domainkey.d.test": "v=DKIM1; k=rsa; p=..."}}
and prints one JSON object on stdout:
  {"ok": bool, "signatures": N, "log": "dkimpy's debug log"}
"ok" means the first signature verifies. Exit status is 0 unless the script
itself is broken; the Go test judges the JSON.
"""
import base64
import io
import json
import logging
import sys

import dkim


def main():
    req = json.load(sys.stdin)
    msg = base64.b64decode(req["data_b64"])
    txt = {k.lower().rstrip("."): v for k, v in req["txt"].items()}

    def dnsfunc(name, timeout=5):
        if isinstance(name, bytes):
            name = name.decode("ascii", "replace")
        rec = txt.get(name.lower().rstrip("."))
        return rec.encode("ascii") if rec is not None else None

    buf = io.StringIO()
    log = logging.getLogger("dkim-e2e")
    log.setLevel(logging.DEBUG)
    log.addHandler(logging.StreamHandler(buf))
    n = sum(1 for l in msg.split(b"\r\n") if l.lower().startswith(b"dkim-signature:"))
    try:
        ok = dkim.verify(msg, logger=log, dnsfunc=dnsfunc)
    except Exception as e:  # a malformed signature is a failed check, not a crash
        ok = False
        buf.write("exception: %r\n" % (e,))
    json.dump({"ok": bool(ok), "signatures": n, "log": buf.getvalue()[-4000:]}, sys.stdout)


if __name__ == "__main__":
    main()
