#!/usr/bin/python3
"""pcapcut.py T FILE...: keep only the records of classic pcap FILEs stamped at or before T (seconds since the epoch,
e.g. the time iptables-save -c read the counters), in place: frames captured after the counters were read are in no
counter."""
import struct, sys
t = float(sys.argv[1])
for f in sys.argv[2:]:
    b = open(f, 'rb').read()
    magic = b[:4]
    e = '<' if magic in (b'\xd4\xc3\xb2\xa1', b'\x4d\x3c\xb2\xa1') else '>'
    div = 1e9 if magic in (b'\x4d\x3c\xb2\xa1', b'\xa1\xb2\x3c\x4d') else 1e6
    out, i = [b[:24]], 24
    while i + 16 <= len(b):
        sec, frac, incl, _ = struct.unpack(e + 'IIII', b[i:i + 16])
        if sec + frac / div <= t:
            out.append(b[i:i + 16 + incl])
        i += 16 + incl
    open(f, 'wb').write(b''.join(out))
