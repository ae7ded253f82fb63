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
rx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800)); rx.bind((IFC, 0))
def drain(sport, t=0.3):
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
    def __init__(s, sport, dport, iss=1000): s.sp,s.dp,s.snd,s.rcv=sport,dport,iss,0
    def tx(s, flags, pay=b'', seq=None, ack=None, **kw):
        seq=s.snd if seq is None else seq; ack=s.rcv if ack is None else ack
        send(IFC, DMAC, [tcp(s.sp,s.dp,seq,ack,flags,pay,**kw)])
    def rxall(s, t=0.3):
        g=drain(s.sp,t)
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
if __name__!="__main__": sc=None
else: sc=sys.argv[1]
if sc=='wscale':   # data beyond the unscaled window but inside the scaled one
    c=C(41001,80); c.hs(MSS+WS(7)+b'\x01'); c.data(b'one'); c.tx('PA',b'ahead',seq=c.snd+3000); c.rxall(); c.data(b'x'*10); c.tx('R')
elif sc=='wscale15':
    c=C(41002,80); c.hs(MSS+WS(15)+b'\x01'); c.data(b'one'); c.tx('PA',b'ahead',seq=c.snd+3000); c.rxall(); c.tx('R')
elif sc=='nowscale_ahead':  # no wscale: data just beyond the 64240 window, and just inside
    c=C(41003,80); c.hs(MSS); c.data(b'one'); g=c.tx('PA',b'in',seq=c.snd+60000); c.rxall(); c.tx('PA',b'out',seq=c.snd+70000); c.rxall(); c.data(b'z'); c.tx('R')
elif sc=='sack_beyond':   # SACK permitted; ACK with a SACK block beyond what the server sent
    c=C(41004,80); c.hs(MSS+SACKP); c.data(b'one')
    blk=lambda l,r: b'\x05\x0a'+struct.pack('!II',l&0xffffffff,r&0xffffffff)
    c.tx('A', opts=b'\x01\x01'+blk(c.rcv+100,c.rcv+200)); c.rxall()
    c.tx('A', opts=b'\x01\x01'+blk(c.rcv-100,c.rcv-50)); c.rxall(); c.data(b'two'); c.tx('R')
elif sc=='sack_noperm':   # SACK not negotiated; SACK block beyond is ignored by conntrack
    c=C(41005,80); c.hs(MSS); c.data(b'one')
    c.tx('A', opts=b'\x01\x01\x05\x0a'+struct.pack('!II',(c.rcv+100)&0xffffffff,(c.rcv+200)&0xffffffff)); c.rxall(); c.data(b'two'); c.tx('R')
elif sc=='ack_edges':
    c=C(41006,80); c.hs(MSS); c.data(b'one'); c.tx('A',ack=c.rcv+1); c.rxall(); c.tx('A',ack=c.rcv-70000); c.rxall(); c.tx('A',ack=c.rcv-60000); c.rxall(); c.data(b'two'); c.tx('R')
elif sc=='old_data':
    c=C(41007,80); c.hs(MSS); c.data(b'one'); c.tx('PA',b'old',seq=c.snd-70000); c.rxall(); c.tx('PA',b'old2',seq=c.snd-3); c.rxall(); c.data(b'two'); c.tx('R')
elif sc=='flags':
    combos=['SF','SR','','FPU','F','SU','SPU','SAP','R','RA','AU','FAPU','SE C'.replace(' ',''),'SAEC','FSRPAU','UP','P']
    for i,fl in enumerate(combos):
        c=C(41100+i,80); c.tx(fl, seq=5000, ack=7 if 'A' in fl else 0); c.rxall(0.15)
elif sc=='flags_est':   # odd flags on an established connection
    c=C(41020,80); c.hs(MSS); c.data(b'one'); c.tx('SF'); c.rxall(); c.tx('FPU'); c.rxall(); c.tx(''); c.rxall(); c.tx('PA',b'u',) ; c.snd+=1; c.rxall(); c.tx('R')
elif sc=='badsum':
    c=C(41030,80); c.tx('S', badsum=True); c.rxall(); c2=C(41031,80); c2.hs(MSS); c2.data(b'one'); c2.tx('PA',b'bad',badsum=True); c2.rxall(); c2.data(b'ok'); c2.tx('R', badsum=True); c2.rxall(); c2.data(b'ok2'); c2.tx('R')
elif sc=='doff':
    c=C(41040,80); c.tx('S', doff=4); c.rxall(); c=C(41041,80); c.tx('S', doff=15); c.rxall(); c=C(41042,80); c.tx('S', opts=MSS+b'\x03\x02'); c.rxall(); c.tx('R',seq=c.snd+1)
elif sc=='reopen_after_rst':
    c=C(41050,80); c.hs(MSS); c.data(b'one'); c.tx('R'); time.sleep(0.1); c.snd=900000; c.hs(MSS); c.data(b'again'); c.tx('R')
elif sc=='syn_recv_resyn':   # SYN, then SYN with a different ISN before completing
    c=C(41060,80); c.tx('S',seq=1000); c.rxall(); c.tx('S',seq=777777); c.snd=777778; c.rxall(); c.tx('A'); c.data(b'z'); c.tx('R')
elif sc=='syn_ack_challenge_rst':  # SYN on ES -> challenge ACK -> RST with its ack -> new SYN
    c=C(41070,80); c.hs(MSS); c.data(b'one'); c.tx('S',seq=5555555); g=c.rxall()
    ca=[p for p in g if p['fl']==0x10]
    if ca: c.tx('R',seq=ca[0]['ack'],ack=0)
    time.sleep(0.1); c.snd=5555555; c.tx('S',seq=5555555); c.snd+=1; c.rxall(); c.tx('A'); c.data(b'new'); c.tx('R')
if sc=='min_sf':     # established; client ACKs everything; SYN|FIN (INVALID, dropped); then data -> server echo
    c=C(41200,80); c.hs(MSS); c.data(b'one'); c.tx('A'); time.sleep(0.1); c.tx('SF'); c.rxall(); c.data(b'two'); c.tx('A'); c.rxall(); c.tx('R')
elif sc=='min_badsyn':  # established; SYN with a bad checksum (INVALID, dropped); then data -> server echo
    c=C(41201,80); c.hs(MSS); c.data(b'one'); c.tx('A'); time.sleep(0.1); c.tx('S',seq=99999,badsum=True); c.rxall(); c.data(b'two'); c.tx('A'); c.rxall(); c.tx('R')
