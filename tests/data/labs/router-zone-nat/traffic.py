# Real sockets through the router: run in the client namespace (WAN, 198.51.100.2, 2001:db8:a::2) with the server
# namespace's name as argv[1]; the LAN side's connections (sources .3 and .5, b::3 and b::5) run there ('lan' role).
import os, socket, subprocess, sys, time, threading
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'router-nat-v4v6'))
from traffic import V4, V6, tcp, udp, echo
def wan(f):
    tcp(f, f['wan'], 8080); tcp(f, f['wan'], 8080, sport=40100)
    udp(f, f['wan'], 5353, sport=40101, n=3)
def lan(f):
    L = f['lan']; cli = f['cli']
    # two hosts in two zones (--zone-orig 1, 2) behind one MASQUERADE address with one source port, the first still
    # open when the second connects: their reply tuples share the default zone
    t = threading.Thread(target=tcp, args=(f, cli, 80), kwargs=dict(src=L + '3', sport=40000, hold=1.0)); t.start()
    time.sleep(0.3); tcp(f, cli, 80, src=L + '5', sport=40000); t.join()
    udp(f, cli, 53, src=L + '3', sport=40001, n=2); udp(f, cli, 53, src=L + '5', sport=40001, n=2)
    echo(f, cli, L + '3', 0x4242); echo(f, cli, L + '5', 0x4242)
if sys.argv[1] == 'c':
    for f in (V4, V6):
        wan(f)
        subprocess.run(['ip', 'netns', 'exec', sys.argv[2], sys.executable, sys.argv[0], 'lan', '4' if f is V4 else '6'])
else:
    lan(V4 if sys.argv[2] == '4' else V6)
