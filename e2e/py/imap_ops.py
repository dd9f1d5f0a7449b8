#!/usr/bin/env python3
"""Drive an IMAP session with imaplib (a real IMAP client) for posthorn's e2e tests.

Reads a JSON request on stdin:
  {"host": "127.0.0.1", "port": 2143, "mode": "plain" | "starttls" | "ssl",
   "user": "u@d", "pass": "pw",
   "ops": [["select", "INBOX"], ["fetch", "1:*", "(FLAGS)"],
           ["uid", "STORE", "1", "+FLAGS", "(\\\\Seen)"],
           ["append_b64", "INBOX", "(\\\\Seen)", "BASE64 OF THE MESSAGE"], ...]}
Each op is an imaplib method name and its string arguments; "append_b64"
is append with the message given in base64 and no date. A session ends
with logout.

Prints one JSON object: {"capabilities": [...], "login": R, "results": [R, ...]}
where R is {"op": [...], "typ": "OK"/"NO"/..., "data": D, "untagged": {NAME: [D...]},
"error": "..." (when imaplib raised)}; bytes are given as latin-1 strings (one
character per octet, lossless) and tuples (literals) as lists.
"""
import base64
import imaplib
import json
import ssl
import sys

imaplib._MAXLINE = 1 << 20


def enc(v):
    if isinstance(v, bytes):
        return v.decode("latin-1")
    if isinstance(v, (list, tuple)):
        return [enc(x) for x in v]
    if v is None:
        return None
    return str(v)


def run_op(m, op):
    name, args = op[0], list(op[1:])
    m.untagged_responses.clear()
    r = {"op": op}
    try:
        if name == "append_b64":
            typ, data = m.append(args[0], args[1] or None, None, base64.b64decode(args[2]))
        else:
            typ, data = getattr(m, name)(*args)
        r["typ"], r["data"] = typ, enc(data)
    except (imaplib.IMAP4.error, imaplib.IMAP4.abort) as e:
        r["typ"], r["error"] = "ERROR", str(e)
    r["untagged"] = {k: enc(v) for k, v in m.untagged_responses.items()}
    return r


def main():
    req = json.load(sys.stdin)
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    mode = req.get("mode", "plain")
    if mode == "ssl":
        m = imaplib.IMAP4_SSL(req["host"], req["port"], ssl_context=ctx, timeout=60)
    else:
        m = imaplib.IMAP4(req["host"], req["port"], timeout=60)
        if mode == "starttls":
            m.starttls(ssl_context=ctx)
    out = {"capabilities": list(m.capabilities)}
    try:
        typ, data = m.login(req["user"], req["pass"])
        out["login"] = {"typ": typ, "data": enc(data)}
    except imaplib.IMAP4.error as e:
        out["login"] = {"typ": "NO", "error": str(e)}
        print(json.dumps(out))
        return
    out["results"] = [run_op(m, op) for op in req.get("ops", [])]
    try:
        m.logout()
    except Exception:
        pass
    print(json.dumps(out))


if __name__ == "__main__":
    main()
