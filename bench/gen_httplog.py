#!/usr/bin/env python3
"""Writes N httplog lines as rsyslog stores them in /var/log/haproxy.log (Debian's traditional
format), with a realistic mix: 4 backends x 4 servers, 2xx/3xx/4xx/5xx, termination states
(----, SC--, sH--, CD--, sQ--, cD--, CR--), queueing, retries and redispatches, captured headers.
Deterministic (seeded) so runs compare."""
import random, sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
rnd = random.Random(42)
backends = {f"bk_{b}": [f"{b}{i}" for i in range(1, 5)] for b in ("app", "api", "static", "slow")}
names = list(backends)
paths = ["/", "/index.html", "/api/v1/users", "/api/v1/orders?id=42", "/static/app.js", "/login", "/search?q=haproxy", "/health"]
agents = ["Mozilla/5.0 (X11; Linux x86_64)", "curl/7.88.1", "Go-http-client/1.1", "python-requests/2.31"]
out = sys.stdout
w = out.write
sec = 0
for i in range(n):
    if i % 300 == 0:
        sec += 1
    h, m, s = 10 + sec // 3600 % 12, sec // 60 % 60, sec % 60
    be = names[rnd.randrange(4)]
    srv = backends[be][rnd.randrange(4)]
    r = rnd.random()
    tq, tw, tc = 0, 0, rnd.randrange(3)
    tr = int(rnd.expovariate(1 / 40))
    st, ts, retries, sq, bq = 200, "----", "0", 0, 0
    if be == "bk_slow":
        tr = int(rnd.expovariate(1 / 900))
    if r < 0.02:
        st, ts, tc, tr, retries, srv = 503, "SC--", -1, -1, "3", srv
    elif r < 0.03:
        st, ts, tr = 504, "sH--", -1
        tw2 = 0
    elif r < 0.04:
        st, ts = 200, "CD--"
    elif r < 0.045:
        st, ts, tw, tc, tr, srv, sq, bq = 503, "sQ--", 2000, -1, -1, "<NOSRV>", 0, 12
    elif r < 0.05:
        st, ts, tq, tw, tc, tr, srv = 408, "cR--", -1, -1, -1, -1, "<NOSRV>"
    elif r < 0.08:
        st = 404
    elif r < 0.10:
        st = 302
    elif r < 0.102:
        retries = "+1"
    elif r < 0.12:
        tw = rnd.randrange(1, 500)
        sq = rnd.randrange(1, 5)
    if ts == "sH--":
        ta = 30000
    else:
        ta = max(tq, 0) + max(tw, 0) + max(tc, 0) + max(tr, 0) + rnd.randrange(2)
    ip = f"10.{rnd.randrange(4)}.{rnd.randrange(256)}.{rnd.randrange(256)}"
    port = 1024 + rnd.randrange(60000)
    method = "POST" if rnd.random() < 0.1 else "GET"
    w(f"Dec  6 {h:02}:{m:02}:{s:02} lb1 haproxy[4242]: {ip}:{port} [06/Dec/2026:{h:02}:{m:02}:{s:02}.{rnd.randrange(1000):03}] fe_main {be}/{srv} "
      f"{tq}/{tw}/{tc}/{tr}/{ta} {st} {rnd.randrange(200, 20000)} - - {ts} {rnd.randrange(100, 400)}/{rnd.randrange(100, 400)}/{rnd.randrange(10, 100)}/{rnd.randrange(1, 20)}/{retries} {sq}/{bq} "
      f"{{lb.example|{agents[rnd.randrange(4)]}}} \"{method} {paths[rnd.randrange(8)]} HTTP/1.1\"\n")
