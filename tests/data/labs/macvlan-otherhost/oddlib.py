# odd probes from tsA (a0) at tsT (10.9.0.1, 02:00:00:00:09:01), raw frames via AF_PACKET
import socket, struct, time, sys, os
sys.path.insert(0, os.path.dirname(__file__))
import os; sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib')); from craft import *
import os as _o; IF=_o.environ.get('IF','a0'); TM=_o.environ.get('TM','02:00:00:00:09:01'); H=_o.environ.get('H','10.9.0.1'); ME=_o.environ.get('ME','10.9.0.2')
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
