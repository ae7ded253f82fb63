# crafted TCP with options, odd flags, bad checksums, short doff; AF_PACKET on p0
import socket, struct, time, sys, select
sys.path.insert(0,'lib'); from craft import csum, send
SRC, DST, IFC, DMAC = '192.0.2.2', '192.0.2.1', 'p0', '02:00:00:00:00:01'
F={'F':1,'S':2,'R':4,'P':8,'A':16,'U':32,'E':64,'C':128}
def tcp(sp,dp,seq,ack,flags,pay=b'',opts=b'',win=64240,badsum=False,doff=None):
    while len(opts)%4: opts+=b'\x01'
    fl=sum(F[c] for c in flags); d=doff if doff is not None else 5+len(opts)//4
    u=struct.pack('!HHIIBBHHH',sp,dp,seq&0xffffffff,ack&0xffffffff,d<<4,fl,win,0,0)+opts+pay
    sa,da=socket.inet_aton(SRC),socket.inet_aton(DST)
    c=csum(sa+da+struct.pack('!BBH',0,6,len(u))+u)
    if badsum: c^=0x5555
    u=u[:16]+struct.pack('!H',c)+u[18:]
    h=struct.pack('!BBHHHBBH4s4s',0x45,0,20+len(u),0x1234,0x4000,64,6,0,sa,da)
    return h[:10]+struct.pack('!H',csum(h))+h[12:]+u
def mkrx():
    r=socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800)); r.bind((IFC, 0)); return r
def drain(sport, t=0.3, rx=None):
    got=[]; end=time.time()+t
    while True:
        r,_,_=select.select([rx],[],[],max(0,end-time.time()))
        if not r: return got
        f,addr=rx.recvfrom(4000)
        if addr[2]==socket.PACKET_OUTGOING: continue
        ip=f[14:]
        if ip[9]!=6: continue
        ihl=(ip[0]&15)*4; t4=ip[ihl:]
        sp,dp,seq,ack,off,fl,win=struct.unpack('!HHIIBBH',t4[:16])
        if dp!=sport: continue
        pay=ip[ihl+(off>>4)*4:struct.unpack('!H',ip[2:4])[0]]
        got.append(dict(seq=seq,ack=ack,fl=fl,len=len(pay),win=win))
class C:
    def __init__(s, sport, dport, iss=1000): s.sp,s.dp,s.snd,s.rcv=sport,dport,iss,0; s.rx=mkrx()
    def tx(s, flags, pay=b'', seq=None, ack=None, **kw):
        seq=s.snd if seq is None else seq; ack=s.rcv if ack is None else ack
        send(IFC, DMAC, [tcp(s.sp,s.dp,seq,ack,flags,pay,**kw)])
    def rxall(s, t=0.3):
        g=drain(s.sp,t,s.rx)
        for p in g:
            adv=p['len']+(1 if p['fl']&3 else 0)
            if p['fl']&4: continue
            if p['fl']&2 or (adv and ((p['seq']+adv-s.rcv)&0xffffffff)<0x80000000): s.rcv=(p['seq']+adv)&0xffffffff
        print(s.sp, [(hex(p['fl']),p['len'],p['win'],p['ack']-s.snd) for p in g], flush=True); return g
    def hs(s, opts=b''):
        s.tx('S', opts=opts); s.snd+=1; g=s.rxall(); s.tx('A'); return g
    def data(s, b, flags='PA', **kw):
        s.tx(flags, b, **kw); s.snd+=len(b); return s.rxall()
WS=lambda n: b'\x03\x03'+bytes([n])
SACKP=b'\x04\x02'
MSS=b'\x02\x04\x05\xb4'
sc=sys.argv[1]
if sc=='dup_syn':      # SYN accepted; identical SYN 0.1 s later dropped by the per-port SYN limit; the server retransmits its SYN/ACK on its own timer
    c=C(43001,80); c.tx('S'); c.rxall(0.1); c.tx('S'); c.snd+=1; c.rxall(2.5); c.tx('A'); c.data(b'x'); c.tx('A'); c.rxall(); c.tx('R')
elif sc=='syn_on_est_dropped':   # established; a SYN on the same tuple dropped by the SYN limit; then data -> echo
    c=C(43002,80); c.hs(MSS); c.data(b'one'); c.tx('A'); c.tx('S', seq=99999); c.rxall(); c.data(b'two'); c.tx('A'); c.rxall(); c.tx('R')
