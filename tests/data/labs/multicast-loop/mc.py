# Multicast senders and receivers for the multicast-loop lab (run inside a namespace).
#   mc.py join          the host's receiver: joins 239.1.1.1 and ff15::1 on t0, then waits
#   mc.py host          the host's senders: loop on and off, joined and not joined groups
#   mc.py query         the peer: an IGMPv2 general query and a datagram to 239.1.1.1
import socket, struct, sys, time

V4, V6 = "10.9.0.1", "2001:db8:9::1"


def idx(name):
    return socket.if_nametoindex(name)


def join():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("", 5000))
    s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
                 socket.inet_aton("239.1.1.1") + socket.inet_aton(V4))
    s6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s6.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s6.bind(("", 5000))
    s6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP,
                  socket.inet_pton(socket.AF_INET6, "ff15::1") + struct.pack("@I", idx("t0")))
    while True:
        time.sleep(3600)


def send4(group, loop, n, port=5000):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(V4))
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, loop)
    for i in range(n):
        s.sendto(b"m4-%d-%d" % (loop, i), (group, port))
        time.sleep(0.05)


def send6(group, loop, n, port=5000):
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, idx("t0"))
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_LOOP, loop)
    for i in range(n):
        s.sendto(b"m6-%d-%d" % (loop, i), (group, port, 0, idx("t0")))
        time.sleep(0.05)


def host():
    send4("239.1.1.1", 1, 3)
    send4("239.1.1.1", 0, 2)
    send4("239.2.2.2", 1, 2)
    send6("ff15::1", 1, 3)
    send6("ff15::1", 0, 2)
    send6("ff15::2", 1, 2)


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def query():
    r = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_IGMP)
    r.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("10.9.0.2"))
    r.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
    # IGMPv2 general query, maximum response time 0.5 s
    q = struct.pack("!BBH4s", 0x11, 5, 0, b"\0\0\0\0")
    q = struct.pack("!BBH4s", 0x11, 5, csum(q), b"\0\0\0\0")
    r.sendto(q, ("224.0.0.1", 0))
    time.sleep(1.0)
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("10.9.0.2"))
    u.sendto(b"peer", ("239.1.1.1", 5000))


{"join": join, "host": host, "query": query}[sys.argv[1]]()
