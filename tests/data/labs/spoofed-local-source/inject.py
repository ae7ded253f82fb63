# inject.py IFACE DSTMAC SPEC...   SPEC = "4|6,src,dst,dport" ; sends UDP in an Ethernet frame via AF_PACKET
import socket, struct, sys, json, subprocess, time
noown='--noown' in sys.argv
if noown: sys.argv.remove('--noown')
OWN={'10.9.0.1','198.51.100.1','172.16.5.1','127.0.0.1','2001:db8:a::1','2001:db8:b::1','2001:db8:c::1','::1','fe80::1'}
ifc, dmac = sys.argv[1], bytes.fromhex(sys.argv[2].replace(':',''))
smac = bytes.fromhex(open(f'/sys/class/net/{ifc}/address').read().strip().replace(':',''))
def csum(b):
    if len(b)%2: b+=b'\0'
    s=sum(struct.unpack('!%dH'%(len(b)//2),b)); s=(s>>16)+(s&0xffff); s+=s>>16; return (~s)&0xffff
s=socket.socket(socket.AF_PACKET, socket.SOCK_RAW); s.bind((ifc,0))
for i,spec in enumerate(sys.argv[3:]):
    fam,src,dst,dport=spec.split(','); dport=int(dport); pay=b'rpf-probe-%d'%i
    if noown and src in OWN: continue
    sport=40000+i
    if fam=='4':
        sa,da=socket.inet_aton(src),socket.inet_aton(dst)
        u=struct.pack('!HHHH',sport,dport,8+len(pay),0)+pay
        c=csum(sa+da+struct.pack('!BBH',0,17,len(u))+u) or 0xffff
        u=u[:6]+struct.pack('!H',c)+u[8:]
        h=struct.pack('!BBHHHBBH4s4s',0x45,0,20+len(u),0x1000+i,0x4000,64,17,0,sa,da)
        h=h[:10]+struct.pack('!H',csum(h))+h[12:]
        fr=dmac+smac+b'\x08\x00'+h+u
    else:
        sa,da=socket.inet_pton(10,src),socket.inet_pton(10,dst)
        u=struct.pack('!HHHH',sport,dport,8+len(pay),0)+pay
        c=csum(sa+da+struct.pack('!IxxxB',len(u),17)+u) or 0xffff
        u=u[:6]+struct.pack('!H',c)+u[8:]
        h=struct.pack('!IHBB16s16s',0x60000000,len(u),17,64,sa,da)
        fr=dmac+smac+b'\x86\xdd'+h+u
    s.send(fr); time.sleep(0.05)
