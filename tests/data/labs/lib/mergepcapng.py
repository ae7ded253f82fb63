#!/usr/bin/python3
"""mergepcapng.py OUT NAME=FILE.pcap ... : merge classic pcaps into one pcapng, one IDB per file named NAME with
that file's link type (Ethernet; raw IP for a tun or tunnel device), sorted by time."""
import struct, sys
out = sys.argv[1]; ins = [a.split('=', 1) for a in sys.argv[2:]]
recs = []; lts = []
for idx, (name, fn) in enumerate(ins):
    d = open(fn, 'rb').read()
    magic = struct.unpack('<I', d[:4])[0]
    assert magic in (0xa1b2c3d4, 0xa1b23c4d), hex(magic)
    nano = magic == 0xa1b23c4d
    lt = struct.unpack('<I', d[20:24])[0] & 0xffff; lts.append(lt)
    at = 24
    while at + 16 <= len(d):
        s, us, cl, ol = struct.unpack('<IIII', d[at:at+16])
        ts = s * 10**6 + (us // 1000 if nano else us)
        recs.append((ts, idx, len(recs), d[at+16:at+16+cl], ol))
        at += 16 + cl
recs.sort()
def blk(t, body):
    body += b'\0' * ((-len(body)) % 4)
    L = len(body) + 12
    return struct.pack('<II', t, L) + body + struct.pack('<I', L)
def opt(code, val):
    return struct.pack('<HH', code, len(val)) + val + b'\0' * ((-len(val)) % 4)
o = open(out, 'wb')
o.write(blk(0x0A0D0D0A, struct.pack('<IHHq', 0x1A2B3C4D, 1, 0, -1)))
for (name, fn), lt in zip(ins, lts):
    o.write(blk(1, struct.pack('<HHI', lt, 0, 262144) + opt(2, name.encode()) + opt(9, b'\x06') + opt(0, b'')))
for ts, idx, _, data, ol in recs:
    o.write(blk(6, struct.pack('<IIIII', idx, ts >> 32, ts & 0xffffffff, len(data), ol) + data))
o.close()
print(f"{len(recs)} records from {len(ins)} interfaces")
