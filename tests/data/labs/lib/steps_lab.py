#!/usr/bin/env python3
"""A `fwcheck steps` lab on a real kernel (as root): namespace HOST (the server) and ADMIN
(the administrator's client) joined by a veth; a live TCP session to HOST port 22 (an echo
server; the client sends a line every 0.1 s) and, after each step's commands run in HOST, a
check of that session (does a line sent after the step come back?) and of a new connection.
Writes one JSON line per step: {"step", "rc", "established", "new", "waited"}.

usage: steps_lab.py PREFIX PLAN OUT [--v6] [--initial RULES] [--wait S]
PLAN: one step per paragraph (blank-line separated) of shell commands run in HOST with
`sh -e`; `iptables`, `ip6tables`, `iptables-restore` are found on PATH. INITIAL (restore
input) is loaded before the session starts (so conntrack tracks it from its SYN when it uses
conntrack), iptables-restore or ip6tables-restore after the family."""
import json, os, select, socket, subprocess, sys, threading, time

def sh(*a, check=True, **kw):
    return subprocess.run(a, check=check, **kw)

def ns(n, *a, **kw):
    return sh("ip", "netns", "exec", n, *a, **kw)

SERVER = r'''
import socket, threading
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("::", 22)); s.listen(64)
def echo(c):
    while True:
        d = c.recv(4096)
        if not d: break
        c.sendall(d)
while True:
    c, _ = s.accept()
    threading.Thread(target=echo, args=(c,), daemon=True).start()
'''

CLIENT = r'''
import socket, sys, threading, time
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
c = socket.create_connection((sys.argv[1], 22), timeout=5)
c.settimeout(None)
print("up", flush=True)
def send():
    n = 0
    while True:
        c.sendall(b"%d\n" % n); n += 1
        time.sleep(0.1)
threading.Thread(target=send, daemon=True).start()
buf = b""
while True:
    d = c.recv(4096)
    if not d: print("eof", flush=True); break
    buf += d
    *lines, buf = buf.split(b"\n")
    for l in lines: print("echo %s %f" % (l.decode(), time.time()), flush=True)
'''

PROBE = r'''
import socket, sys
try:
    c = socket.create_connection((sys.argv[1], 22), timeout=3)
    c.settimeout(3); c.sendall(b"probe\n")
    ok = c.recv(100).startswith(b"probe")
    c.close()
    sys.exit(0 if ok else 1)
except OSError:
    sys.exit(1)
'''

def main():
    args = sys.argv[1:]
    prefix, plan, out = args[:3]
    v6 = "--v6" in args
    initial = args[args.index("--initial") + 1] if "--initial" in args else None
    wait = float(args[args.index("--wait") + 1]) if "--wait" in args else 2.5
    H, A = prefix + "host", prefix + "admin"
    for n in (H, A):
        sh("ip", "netns", "del", n, check=False, stderr=subprocess.DEVNULL)
        sh("ip", "netns", "add", n)
    sh("ip", "link", "add", "hs-h0", "netns", H, "type", "veth", "peer", "name", "hs-a0", "netns", A)
    for n, dev, a4, a6 in ((H, "hs-h0", "203.0.113.10/24", "2001:db8:1::10/64"),
                           (A, "hs-a0", "203.0.113.77/24", "2001:db8:1::77/64")):
        ns(n, "sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0",
           "net.ipv4.tcp_rto_max_ms=1000", "net.ipv4.tcp_retries2=100")
        ns(n, "ip", "link", "set", "lo", "up")
        ns(n, "ip", "addr", "add", a4, "dev", dev)
        ns(n, "ip", "-6", "addr", "add", a6, "dev", dev, "nodad")
        ns(n, "ip", "link", "set", dev, "up")
    host = "2001:db8:1::10" if v6 else "203.0.113.10"
    restore = "ip6tables-restore" if v6 else "iptables-restore"
    if initial:
        with open(initial) as f:
            ns(H, restore, stdin=f)
    time.sleep(0.5)
    srv = subprocess.Popen(["ip", "netns", "exec", H, "python3", "-c", SERVER])
    time.sleep(0.5)
    cli = subprocess.Popen(["ip", "netns", "exec", A, "python3", "-u", "-c", CLIENT, host],
                           stdout=subprocess.PIPE, text=True)
    assert cli.stdout.readline().strip() == "up"
    echoes = []
    def reader():
        for line in cli.stdout:
            p = line.split()
            if p[0] == "echo":
                echoes.append(float(p[2]))
            else:
                echoes.append(None)
    threading.Thread(target=reader, daemon=True).start()
    time.sleep(1.0)
    steps = [s.strip() for s in open(plan).read().split("\n\n") if s.strip()]
    res = []
    try:
        for i, cmd in enumerate(steps, 1):
            rc = ns(H, "sh", "-c", cmd, check=False, stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE, text=True)
            t0 = time.time()
            # a line sent after the step (the client sends one every 0.1 s) comes back
            est = False
            while time.time() - t0 < wait:
                if any(e and e > t0 + 0.15 for e in echoes[-5:]):
                    est = True
                    break
                time.sleep(0.05)
            waited = round(time.time() - t0, 2)
            new = ns(A, "python3", "-c", PROBE, host, check=False).returncode == 0
            r = {"step": i, "rc": rc.returncode, "established": est, "new": new, "waited": waited}
            if None in echoes:
                r["dead"] = True  # the client's connection timed out: later steps say nothing
            if rc.returncode:
                r["stderr"] = rc.stderr.strip()
            print(json.dumps(r), flush=True)
            res.append(r)
        if "--save" in args:
            save = "ip6tables-save" if v6 else "iptables-save"
            r = ns(H, save, capture_output=True, text=True)
            res.append({"save": r.stdout})
    finally:
        cli.kill(); srv.kill()
        for n in (H, A):
            sh("ip", "netns", "del", n, check=False)
    with open(out, "w") as f:
        for r in res:
            f.write(json.dumps(r) + "\n")

main()
