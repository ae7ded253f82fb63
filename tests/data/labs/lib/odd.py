# odd probes from tsA (a0) at tsT (10.9.0.1, 02:00:00:00:09:01), raw frames via AF_PACKET;
# the interface, the target's MAC and address and our address can be set in the environment
# (IF, TM, H, ME). `python3 odd.py STEP` (all, addr, ip, frag, tcp) sends a step's probes.
import socket, struct, time, sys, os
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from craft import *
E=os.environ
IF=E.get('IF','a0'); TM=E.get('TM','02:00:00:00:09:01'); H=E.get('H','10.9.0.1'); ME=E.get('ME','10.9.0.2')
S=socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800)); S.bind((IF,0))
SMAC=mac(open(f'/sys/class/net/{IF}/address').read().strip())
import subprocess, re as _re
_OR=os.environ.get('ORACLE'); _last={}; _n=[0]
def _snap():
    out=subprocess.run(['ip','netns','exec','tsT','iptables-save','-c'],capture_output=True,text=True).stdout
    d={}; ch={}
    for l in out.splitlines():
        m=_re.match(r':(\S+) \S+ \[(\d+):(\d+)\]',l)
        if m: d[m.group(1)+'/P']=(int(m.group(2)),int(m.group(3))); continue
        m=_re.match(r'\[(\d+):(\d+)\] -A (\S+)',l)
        if m:
            c=m.group(3); ch[c]=ch.get(c,0)+1; d[f'{c}#{ch[c]}']=(int(m.group(1)),int(m.group(2)))
    return d
def tx(f, dmac=TM, gap=0.03):
    global _last
    if _OR and not _last: _last=_snap()
    _t0=time.time(); S.send(mac(dmac)+SMAC+b'\x08\x00'+f); time.sleep(gap)
    if _OR:
        time.sleep(0.05); d=_snap(); _n[0]+=1
        ch=' '.join(f'{k}+{d[k][0]-_last.get(k,(0,0))[0]}/{d[k][1]-_last.get(k,(0,0))[1]}' for k in d if d[k]!=_last.get(k))
        src=socket.inet_ntoa(f[12:16]); dst=socket.inet_ntoa(f[16:20])
        print(f'ORACLE {_n[0]} {_t0:.6f} {src}>{dst} p{f[9]} len{len(f)} dmac={dmac} :: {ch}', file=sys.stderr, flush=True)
        _last=d
def iph(src,dst,proto,payload,ttl=64,ident=0x2222,frag=0x4000,opts=b'',tos=0,tot=None,ihl=None,bad=False):
    sa,da=socket.inet_aton(src),socket.inet_aton(dst)
    hl=20+len(opts); ihl=ihl if ihl is not None else hl//4
    h=struct.pack('!BBHHHBBH4s4s',0x40|ihl,tos,tot if tot is not None else hl+len(payload),ident,frag,ttl,proto,0,sa,da)+opts
    c=csum(h); c = c^0x5a5a if bad else c
    return h[:10]+struct.pack('!H',c)+h[12:]+payload
def tcp(src,dst,sport,dport,flags='S',seq=1000,ack=0,pay=b'',win=64240,opts=b'',doff=None):
    fl=sum({'F':1,'S':2,'R':4,'P':8,'A':16,'U':32,'E':64,'C':128}[c] for c in flags)
    d=doff if doff is not None else (20+len(opts))//4
    u=struct.pack('!HHIIBBHHH',sport,dport,seq,ack,d<<4,fl,win,0,0)+opts+pay
    ph=socket.inet_aton(src)+socket.inet_aton(dst)+struct.pack('!BBH',0,6,len(u))
    c=csum(ph+u); return u[:16]+struct.pack('!H',c)+u[18:]
def udp(src,dst,sport,dport,pay=b'q'*12):
    u=struct.pack('!HHHH',sport,dport,8+len(pay),0)+pay
    ph=socket.inet_aton(src)+socket.inet_aton(dst)+struct.pack('!BBH',0,17,len(u))
    c=csum(ph+u) or 0xffff; return u[:6]+struct.pack('!H',c)+u[8:]
def icmp(t,c,rest=b'\0\1\0\1',pay=b'x'*16):
    u=struct.pack('!BBH',t,c,0)+rest+pay; return u[:2]+struct.pack('!H',csum(u))+u[4:]
def T(src,dst,dport=80,sport=41000,**kw): return iph(src,dst,6,tcp(src,dst,sport,dport,**kw))
def U(src,dst,dport=53,sport=41000,**kw): return iph(src,dst,17,udp(src,dst,sport,dport))
step=sys.argv[1] if __name__=='__main__' and len(sys.argv)>1 else 'none'
sp=42000
def nsp():
    global sp; sp+=1; return sp
if step in ('all','addr'):
    # martian / odd sources
    for src in ('10.9.0.1','127.0.0.1','0.0.0.0','10.9.0.255','255.255.255.255','224.0.0.5','172.16.5.5','10.9.0.0'):
        tx(T(src,H,80,nsp())); tx(T(src,H,25,nsp())); tx(iph(src,H,17,udp(src,H,nsp(),53)))
        tx(iph(src,H,1,icmp(8,0)))
    # odd destinations
    for dst in ('10.9.0.255','10.9.0.0','255.255.255.255','127.0.0.1','10.9.0.7','224.0.0.1','224.0.0.251','0.0.0.0'):
        tx(T(ME,dst,80,nsp())); tx(T(ME,dst,25,nsp())); tx(iph(ME,dst,17,udp(ME,dst,nsp(),53))); tx(iph(ME,dst,17,udp(ME,dst,nsp(),9999)))
        tx(iph(ME,dst,1,icmp(8,0)))
    # L2 oddities: other host's MAC, broadcast MAC, multicast MAC with unicast IP
    for dm in ('02:00:00:00:09:99','ff:ff:ff:ff:ff:ff','01:00:5e:00:00:01'):
        tx(T(ME,H,80,nsp()),dmac=dm); tx(T(ME,H,25,nsp()),dmac=dm); tx(iph(ME,H,17,udp(ME,H,nsp(),9999)),dmac=dm); tx(iph(ME,H,1,icmp(8,0)),dmac=dm)
if step in ('all','ip'):
    for ttl in (0,1): tx(iph(ME,H,6,tcp(ME,H,nsp(),80),ttl=ttl)); tx(iph(ME,H,6,tcp(ME,H,nsp(),25),ttl=ttl))
    # IP options: RR, LSRR via host, SSRR, timestamp, router alert, bad length, NOP-only, EOL
    RR=bytes([7,11,4])+b'\0'*8+b'\1'
    LSRR=bytes([0x83,7,4])+socket.inet_aton(H)+b'\1'
    LSRR2=bytes([0x83,7,4])+socket.inet_aton('10.9.0.7')+b'\1'
    SSRR=bytes([0x89,7,4])+socket.inet_aton(H)+b'\1'
    TS=bytes([0x44,12,5,0])+b'\0'*8
    RA=bytes([0x94,4,0,0])
    BAD=bytes([7,40,4,0])
    BAD2=bytes([0x44,3,5,0])
    NOPS=b'\1\1\1\1'
    for o in (RR,LSRR,LSRR2,SSRR,TS,RA,BAD,BAD2,NOPS,b'\0\0\0\0'):
        tx(iph(ME,H,6,tcp(ME,H,nsp(),80),opts=o)); tx(iph(ME,H,6,tcp(ME,H,nsp(),25),opts=o)); tx(iph(ME,H,1,icmp(8,0),opts=o)); tx(iph(ME,H,17,udp(ME,H,nsp(),9999),opts=o))
    # bad IP checksum, ihl 4, tot_len too big, tot_len too small (< ihl), version 6 in v4 ethertype
    tx(iph(ME,H,6,tcp(ME,H,nsp(),80),bad=True))
    tx(iph(ME,H,6,tcp(ME,H,nsp(),80),ihl=4))
    tx(iph(ME,H,6,tcp(ME,H,nsp(),80),tot=200))
    tx(iph(ME,H,6,tcp(ME,H,nsp(),80),tot=16))
    # trailing padding (tot_len smaller than frame): kernel trims
    tx(iph(ME,H,6,tcp(ME,H,nsp(),80))+b'\0'*30)
    tx(iph(ME,H,6,tcp(ME,H,nsp(),25),tot=40)+b'ZZZZZZZZZZ'*3)
    # reserved (evil) bit, DF+MF, tos/ecn
    tx(iph(ME,H,6,tcp(ME,H,nsp(),80),frag=0x8000)); tx(iph(ME,H,6,tcp(ME,H,nsp(),25),frag=0x8000))
    tx(iph(ME,H,6,tcp(ME,H,nsp(),80,flags='SEC'),tos=3)); tx(iph(ME,H,6,tcp(ME,H,nsp(),25),tos=0xff))
if step in ('all','frag'):
    # UDP datagram split: overlapping fragments; exact duplicate; tiny first frag; fragment beyond 65535; MF+DF
    def frags(pl, parts, ident, proto=17, src=ME):
        out=[]
        for off,ln,mf in parts:
            out.append(iph(src,H,proto,pl[off:off+ln],ident=ident,frag=((0x2000 if mf else 0)|(off//8))))
        return out
    pl=udp(ME,H,nsp(),53,pay=b'D'*64)
    for f in frags(pl,[(0,32,1),(24,48,0)],0x3001): tx(f)          # overlap
    pl=udp(ME,H,nsp(),53,pay=b'E'*64)
    for f in frags(pl,[(0,32,1),(0,32,1),(32,40,0)],0x3002): tx(f)  # exact duplicate
    pl=udp(ME,H,nsp(),9999,pay=b'F'*64)
    for f in frags(pl,[(0,8,1),(8,64,0)],0x3003): tx(f)            # tiny first
    pl=tcp(ME,H,nsp(),80,pay=b'G'*40)
    for f in frags(pl,[(0,8,1),(8,52,0)],0x3004,proto=6): tx(f)     # tcp header split
    pl=tcp(ME,H,nsp(),25,pay=b'G'*40)
    for f in frags(pl,[(0,16,1),(16,44,0)],0x3005,proto=6): tx(f)
    tx(iph(ME,H,17,b'H'*16,ident=0x3006,frag=0x1fff))                # offset*8+len > 65535
    tx(iph(ME,H,17,udp(ME,H,nsp(),53),ident=0x3007,frag=0x6000))     # DF+MF, offset 0: a first fragment never completed
    pl=iph(ME,H,1,icmp(8,0,pay=b'p'*40))[20:]
    for f in frags(pl,[(0,24,1),(24,32,0)],0x3008,proto=1): tx(f)    # fragmented echo
    pl=udp(ME,H,nsp(),53,pay=b'I'*64)
    tx(frags(pl,[(32,40,0)],0x3009)[0]); tx(frags(pl,[(0,32,1)],0x3009)[0])   # reversed order
if step in ('all','tcp'):
    tx(T(ME,H,80,nsp(),doff=3)); tx(T(ME,H,25,nsp(),doff=3)); tx(T(ME,H,80,nsp(),doff=15)); tx(T(ME,H,25,nsp(),doff=15))
    tx(T(ME,H,80,nsp(),flags='S',pay=b'synpayload')); tx(T(ME,H,25,nsp(),flags='S',pay=b'synpayload'))
    tx(T(ME,H,0,nsp())); tx(T(ME,H,80,0))
    for fl in ('SR','SU','SP','SA','FA','FPU','R','RA','P','U','AU','EC','FR','SAF','SRAF'):
        tx(T(ME,H,80,nsp(),flags=fl)); tx(T(ME,H,25,nsp(),flags=fl))
    # bad tcp checksum on SYN to open/closed, with a zero window / odd options
    f=bytearray(T(ME,H,80,nsp())); f[36]^=0xff; tx(bytes(f))
    f=bytearray(T(ME,H,25,nsp())); f[36]^=0xff; tx(bytes(f))
    tx(T(ME,H,80,nsp(),win=0)); tx(T(ME,H,80,nsp(),opts=bytes([3,3,15,0])))  # wscale 15
    tx(T(ME,H,80,nsp(),opts=bytes([2,4,0,0]))); tx(T(ME,H,80,nsp(),opts=bytes([8,2,0,0])))  # mss 0, bad ts len
    # UDP oddities: zero checksum, length field mismatch
    u=bytearray(udp(ME,H,nsp(),53)); u[6:8]=b'\0\0'; tx(iph(ME,H,17,bytes(u)))
    u=bytearray(udp(ME,H,nsp(),53)); u[4:6]=struct.pack('!H',100); tx(iph(ME,H,17,bytes(u)))
    u=bytearray(udp(ME,H,nsp(),9999)); u[4:6]=struct.pack('!H',4); tx(iph(ME,H,17,bytes(u)))
    tx(iph(ME,H,17,udp(ME,H,nsp(),53)[:6]))   # truncated udp header
    tx(iph(ME,H,6,tcp(ME,H,nsp(),80)[:12]))   # truncated tcp header
    # ICMP: odd types/codes, errors quoting nothing/garbage/known flows, truncated
    for t,c in ((8,1),(8,9),(13,0),(15,0),(17,0),(10,0),(9,0),(5,1),(4,0),(40,0),(255,0),(0,0),(14,0),(42,0),(128,0)):
        tx(iph(ME,H,1,icmp(t,c)))
    q=iph(H,ME,17,udp(H,ME,53,41000)); tx(iph(ME,H,1,icmp(3,3,b'\0'*4,q)))
    q=iph(H,ME,6,tcp(H,ME,80,43000,flags='SA')); tx(iph(ME,H,1,icmp(3,1,b'\0'*4,q)))
    q=iph(H,ME,6,tcp(H,ME,80,43000,flags='SA'))[:24]; tx(iph(ME,H,1,icmp(11,0,b'\0'*4,q)))
    tx(iph(ME,H,1,icmp(3,4,b'\0\0\x05\xdc',b'garbage')))
    tx(iph(ME,H,1,b'\x08\x00'))
    # raw protocols
    for p in (0,2,4,41,47,50,51,103,132,136,253,255):
        tx(iph(ME,H,p,b'\0'*24))
