#!/usr/bin/env python3
"""Drive POP3 sessions with poplib (a real POP3 client) for posthorn's e2e tests.

Reads a JSON request on stdin:
  {"host": "127.0.0.1", "port": 2110, "cert_pem": "/path/cert.pem",
   "sessions": [
     {"user": "u@d", "pass": "pw",
      "stls": false,            # STLS before login; reports cert_match against cert_pem
      "retry_in_use": 30,       # seconds to retry a -ERR [IN-USE] login (0: do not)
      "hold": false,            # keep this session open until the script ends
      "ops": [["stat"], ["list"], ["list", 2], ["uidl"], ["uidl", 1],
              ["top", 1, 0], ["retr", 1], ["retr_all"], ["dele", 1],
              ["dele_all"], ["rset"], ["noop"], ["quit"]]}
   ]}
A session that does not end with ["quit"] (and is not held) is dropped:
its socket is closed without QUIT.

Prints one JSON object: {"sessions": [{"login": R, "stls": R,
"results": [R, ...]}]} where R is {"ok": bool, "resp": "+OK ..."/"-ERR ...",
and per op: "stat": [n, size], "lines": [...], "data_b64": "...",
"messages": [{"n", "uid", "data_b64"}]}. Message bytes are poplib's lines
joined with CRLF plus a final CRLF: the message exactly as stored.
"""
import base64
import json
import poplib
import ssl
import sys
import time

poplib._MAXLINE = 1 << 20  # our messages may carry long lines


def text(b):
    if isinstance(b, bytes):
        return b.decode("utf-8", "replace")
    return str(b)


def err_result(e):
    if isinstance(e, poplib.error_proto) and e.args:
        return {"ok": False, "resp": text(e.args[0])}
    return {"ok": False, "resp": "", "error": "%s: %s" % (type(e).__name__, e)}


def join(lines):
    return b"".join(l + b"\r\n" for l in lines)


def do_op(p, op):
    name, args = op[0], op[1:]
    if name == "stat":
        n, size = p.stat()
        return {"ok": True, "resp": "+OK", "stat": [n, size]}
    if name in ("list", "uidl"):
        fn = p.list if name == "list" else p.uidl
        if args:
            return {"ok": True, "resp": text(fn(args[0]))}
        resp, lines, _ = fn()
        return {"ok": True, "resp": text(resp), "lines": [text(l) for l in lines]}
    if name in ("retr", "top"):
        if name == "retr":
            resp, lines, _ = p.retr(args[0])
        else:
            resp, lines, _ = p.top(args[0], args[1])
        return {"ok": True, "resp": text(resp),
                "data_b64": base64.b64encode(join(lines)).decode()}
    if name in ("retr_all", "dele_all"):
        resp, lines, _ = p.uidl()
        msgs = []
        for l in lines:
            n, uid = text(l).split()
            if name == "retr_all":
                _, body, _ = p.retr(int(n))
                msgs.append({"n": int(n), "uid": uid,
                             "data_b64": base64.b64encode(join(body)).decode()})
            else:
                p.dele(int(n))
                msgs.append({"n": int(n), "uid": uid})
        return {"ok": True, "resp": text(resp), "messages": msgs}
    if name == "dele":
        return {"ok": True, "resp": text(p.dele(args[0]))}
    if name == "rset":
        return {"ok": True, "resp": text(p.rset())}
    if name == "noop":
        return {"ok": True, "resp": text(p.noop())}
    if name == "quit":
        return {"ok": True, "resp": text(p.quit())}
    raise ValueError("unknown op %r" % name)


def cert_matches(p, pem_path):
    if not pem_path:
        return None
    with open(pem_path) as f:
        pem = f.read()
    start = pem.find("-----BEGIN CERTIFICATE-----")
    end = pem.find("-----END CERTIFICATE-----")
    if start < 0 or end < 0:
        return False
    want = ssl.PEM_cert_to_DER_cert(pem[start:end + len("-----END CERTIFICATE-----")] + "\n")
    return p.sock.getpeercert(binary_form=True) == want


def login(req, s):
    deadline = time.time() + s.get("retry_in_use", 30)
    while True:
        p = poplib.POP3(req["host"], req["port"], timeout=60)
        res = {"session": p}
        if s.get("stls"):
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            try:
                r = p.stls(context=ctx)
                res["stls"] = {"ok": True, "resp": text(r),
                               "cert_match": cert_matches(p, req.get("cert_pem"))}
            except Exception as e:
                res["stls"] = err_result(e)
                res["login"] = {"ok": False, "resp": "", "error": "STLS failed"}
                return res
        try:
            p.user(s["user"])
            res["login"] = {"ok": True, "resp": text(p.pass_(s["pass"]))}
            return res
        except Exception as e:
            res["login"] = err_result(e)
            in_use = "[IN-USE]" in res["login"].get("resp", "")
            if in_use and time.time() < deadline:
                p.close()
                time.sleep(0.1)
                continue
            return res


def main():
    req = json.load(sys.stdin)
    out, held = [], []
    for s in req["sessions"]:
        res = login(req, s)
        p = res.pop("session")
        res["results"] = []
        quitted = False
        if res["login"]["ok"]:
            for op in s.get("ops", []):
                try:
                    r = do_op(p, op)
                except Exception as e:
                    r = err_result(e)
                r["op"] = op
                res["results"].append(r)
                if op[0] == "quit":
                    quitted = True
        if s.get("hold") and not quitted:
            held.append(p)
        elif not quitted:
            p.close()  # dropped: no QUIT, so no UPDATE state
        out.append(res)
    for p in held:
        p.close()
    json.dump({"sessions": out}, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
