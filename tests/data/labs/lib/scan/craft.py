# tiny frame crafter: send via AF_PACKET.  usage as module.
import socket, struct, time
def csum(b):
    if len(b)%2: b+=b'\0'
    s=sum(struct.unpack('!%dH'%(len(b)//2),b)); s=(s>>16)+(s&0xffff); s+=s>>16; return (~s)&0xffff
def mac(s): return bytes.fromhex(s.replace(':',''))
def l4(proto, sa, da, fam, sport=0, dport=0, pay=b'', flags='S', seq=1000, ack=0, itype=8, icode=0, win=64240):
    if proto==17:
        u=struct.pack('!HHHH',sport,dport,8+len(pay),0)+pay
    elif proto==6:
        fl=sum({'F':1,'S':2,'R':4,'P':8,'A':16,'U':32}[c] for c in flags)
        u=struct.pack('!HHIIBBHHH',sport,dport,seq,ack,5<<4,fl,win,0,0)+pay
    else: # icmp / icmpv6
        u=struct.pack('!BBHHH',itype,icode,0,sport,dport)+pay
    if fam==4:
        ph=sa+da+struct.pack('!BBH',0,proto,len(u))
    else:
        ph=sa+da+struct.pack('!IxxxB',len(u),proto)
    if proto==1: ph=b''
    c=csum(ph+u)
    if proto==17: c=c or 0xffff
    off={17:6,6:16,1:2,58:2}[proto]
    return u[:off]+struct.pack('!H',c)+u[off+2:]
def ip4(src,dst,proto,payload,ttl=64,ident=0x1234,df=True):
    sa,da=socket.inet_aton(src),socket.inet_aton(dst)
    h=struct.pack('!BBHHHBBH4s4s',0x45,0,20+len(payload),ident,0x4000 if df else 0,ttl,proto,0,sa,da)
    return h[:10]+struct.pack('!H',csum(h))+h[12:]+payload
def pkt4(src,dst,proto,**kw):
    ttl=kw.pop('ttl',64)
    sa,da=socket.inet_aton(src),socket.inet_aton(dst)
    return ip4(src,dst,proto,l4(proto,sa,da,4,**kw),ttl=ttl)
def pkt6(src,dst,proto,hl=64,ext=b'',nh_first=None,**kw):
    sa,da=socket.inet_pton(10,src),socket.inet_pton(10,dst)
    u=l4(proto,sa,da,6,**kw)
    nh=nh_first if nh_first is not None else proto
    return struct.pack('!IHBB16s16s',0x60000000,len(ext)+len(u),nh,hl,sa,da)+ext+u
def send(ifc,dmac,frames,gap=0.02):
    smac=mac(open(f'/sys/class/net/{ifc}/address').read().strip())
    s=socket.socket(socket.AF_PACKET, socket.SOCK_RAW); s.bind((ifc,0))
    for f in frames:
        et=b'\x08\x00' if f[0]>>4==4 else b'\x86\xdd'
        s.send(mac(dmac)+smac+et+f); time.sleep(gap)
