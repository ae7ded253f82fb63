#!/usr/bin/python3
"""trim.py PCAP T0 T1 [Z0 Z1]: drop frames after T1 (the counters were saved between T0 and T1) and, with Z0 Z1, frames
before Z0 (the counters were zeroed between Z0 and Z1); warn about frames within either window"""
import struct, sys
fn=sys.argv[1]; t0=float(sys.argv[2]); t1=float(sys.argv[3])
z0=float(sys.argv[4]) if len(sys.argv)>5 else None; z1=float(sys.argv[5]) if len(sys.argv)>5 else None
d=open(fn,'rb').read(); out=[d[:24]]; at=24; cut=amb=head=hamb=0
while at+16<=len(d):
    s,us,cl,ol=struct.unpack('<IIII',d[at:at+16]); t=s+us/1e6; rec=d[at:at+16+cl]; at+=16+cl
    if t>t1: cut+=1; continue
    if z0 is not None and t<z0: head+=1; continue
    if z0 is not None and t<=z1: hamb+=1
    if t>=t0: amb+=1
    out.append(rec)
open(fn,'wb').write(b''.join(out)); print(f'trim: {cut} frames after the save removed, {amb} ambiguous; {head} frames before the zeroing removed, {hamb} ambiguous')
