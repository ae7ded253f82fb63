# Raw frames from a client namespace's c0 at a router (the router hunt labs' probes.py import this):
# RNS names the router's namespace, PROBE_GAP the pause after each frame (s); ORACLE=1 prints the
# router's counter changes after each frame.
import sys, os, time, subprocess, re
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from craft import *
RM='02:00:00:00:0a:01'; BC='ff:ff:ff:ff:ff:ff'; M4='01:00:5e:00:00:01'; M6='33:33:00:00:00:01'; OH='02:00:00:00:0a:99'
C4='198.51.100.2'; C6='2001:db8:a::2'
steps=set((sys.argv[1] if len(sys.argv)>1 else 'all').split(','))
R=os.environ['RNS']; OR=os.environ.get('ORACLE')
sp=[40000]
def P():
    sp[0]+=1; return sp[0]
def snap():
    d={}
    for cmd in ('iptables-save','ip6tables-save'):
        out=subprocess.run(['ip','netns','exec',R,cmd,'-c'],capture_output=True,text=True).stdout
        ch={}; t=''
        for l in out.splitlines():
            if l.startswith('*'): t=l[1:]; ch={}
            m=re.match(r':(\S+) \S+ \[(\d+):(\d+)\]',l)
            if m: d[cmd[:3]+'/'+t+'/'+m.group(1)+'/P']=int(m.group(2)); continue
            m=re.match(r'\[(\d+):(\d+)\] -A (\S+)',l)
            if m:
                c=m.group(3); ch[c]=ch.get(c,0)+1; d[f'{cmd[:3]}/{t}/{c}#{ch[c]}']=int(m.group(1))
    return d
last=[None]; n=[0]
def tx(dm, f, what=''):
    if OR and last[0] is None: last[0]=snap()
    send('c0', dm, [f], gap=float(os.environ.get('PROBE_GAP', '0.05')))
    n[0]+=1
    if OR:
        time.sleep(0.1); d=snap()
        ch=' '.join(f'{k.split("/",1)[1]}+{d[k]-last[0].get(k,0)}' for k in d if d[k]!=last[0].get(k,0))
        print(f'{n[0]} {what} dmac={dm} :: {ch}', flush=True); last[0]=d
    else:
        print(f'{n[0]} {what} dmac={dm}', flush=True)
def t4(dst,dport,dm,ttl=64,src=C4,sport=None,flags='S',what=''):
    tx(dm, pkt4(src,dst,6,sport=sport or P(),dport=dport,flags=flags,ttl=ttl), what or f'tcp {src}>{dst}:{dport} ttl{ttl}')
def u4(dst,dport,dm,ttl=64,src=C4,what=''):
    tx(dm, pkt4(src,dst,17,sport=P(),dport=dport,pay=b'q'*8,ttl=ttl), what or f'udp {src}>{dst}:{dport} ttl{ttl}')
def i4(dst,dm,ttl=64,src=C4,what=''):
    tx(dm, pkt4(src,dst,1,sport=P(),dport=1,itype=8,pay=b'p'*8,ttl=ttl), what or f'echo {src}>{dst} ttl{ttl}')
def t6(dst,dport,dm,hl=64,src=C6,sport=None,what=''):
    tx(dm, pkt6(src,dst,6,hl=hl,sport=sport or P(),dport=dport), what or f'tcp6 {src}>{dst}:{dport} hl{hl}')
def u6(dst,dport,dm,hl=64,src=C6,what=''):
    tx(dm, pkt6(src,dst,17,hl=hl,sport=P(),dport=dport,pay=b'q'*8), what or f'udp6 {src}>{dst}:{dport} hl{hl}')
def i6(dst,dm,hl=64,src=C6,what=''):
    tx(dm, pkt6(src,dst,58,hl=hl,sport=P(),dport=1,itype=128,pay=b'p'*8), what or f'echo6 {src}>{dst} hl{hl}')
