# IPv6 packets whose extension header chain the datagram cuts short (nmap -6 -sO sends each
# extension header's number with no payload), one source address per case (2001:db8:1::1N).
import sys, struct, socket
sys.path.insert(0, '../lib'); import craft
H = '2001:db8:1::1'
def v6(case, nh, payload):
    sa, da = socket.inet_pton(10, '2001:db8:1::1%x' % case), socket.inet_pton(10, H)
    return struct.pack('!IHBB16s16s', 0x60000000, len(payload), nh, 64, sa, da) + payload
tcp = bytes.fromhex('9c4000160000000100000000500204000000' + '0000')  # a bare SYN, checksum 0 (never reached)
cases = [
    (1, 0, b''),                          # hop-by-hop, nothing: ipv6_parse_hopopts drops it
    (2, 0, bytes([59, 0])),               # hop-by-hop of 2 bytes (needs 8)
    (3, 0, bytes([59, 1, 1, 4, 0, 0, 0, 0])),  # hop-by-hop claiming 16 bytes, 8 present
    (4, 60, b''),                         # destination options, nothing: ipv6_skip_exthdr fails
    (5, 43, b''),                         # routing header, nothing
    (6, 51, b''),                         # AH, nothing
    (7, 44, b''),                         # fragment header, nothing (payload length 0)
    (8, 44, bytes([59, 0])),              # fragment header of 2 bytes
    (9, 60, bytes([6, 0])),               # destination options of 2 bytes (claims 8), then TCP past the end
    (10, 60, bytes([253, 0])),            # the same, then protocol 253 past the end
    (11, 60, bytes([6, 0, 1, 4, 0, 0, 0, 0])),  # whole destination options, TCP cut to nothing
    (12, 0, bytes([60, 0, 1, 4, 0, 0, 0, 0])),  # whole hop-by-hop, then destination options, nothing
    (13, 60, bytes([6, 0, 1, 4, 0, 0, 0, 0]) + tcp[:20]),  # a whole chain: tracked as usual
]
frames = []
for rep in range(2):
    for c, nh, p in cases:
        frames.append(v6(c, nh, p))
craft.send('p0', '02:00:00:00:00:01', frames, gap=0.02)
