#!/usr/bin/env python3
# Real FTP and TFTP sessions for the router labs (router-ftp-nat*, router-tftp-nat*): a small FTP
# server and client (PASV, EPSV, PORT, EPRT; RETR of a few KB) and a TFTP server and client (RRQ,
# WRQ), over real sockets, so the router's conntrack helpers (and nf_nat_ftp / nf_nat_tftp) see
# what a real session sends.
#   ftpd ADDR            serve FTP on ADDR:21 (active data connections from ADDR:20)
#   ftp SERVER MODE...   one control connection per MODE (pasv, epsv, port, eprt): log in, RETR, QUIT
#   stray SERVER PORT    a SYN to a port no one announced (answered or not within 1.5 s)
#   tftpd ADDR           serve TFTP on ADDR:69 (RRQ: 3 blocks from a new port; WRQ: ACKs)
#   tftp SERVER OP FILE  OP = get or put
#   run NS CMD...        run CMD in namespace NS in the background (its pid on stdout)
import os, socket, sys, time, subprocess

DATA = bytes((i * 7 + 3) & 0xff for i in range(3000))
TDATA = bytes((i * 5 + 1) & 0xff for i in range(1100))


def fam(a):
    return socket.AF_INET6 if ':' in a else socket.AF_INET


def line(f):
    l = f.readline()
    if not l:
        raise EOFError
    return l.decode().rstrip('\r\n')


def ftpd(addr):
    s = socket.socket(fam(addr), socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, 21)); s.listen(8)
    while True:
        c, peer = s.accept()
        try:
            session(c, addr)
        except (EOFError, OSError) as e:
            print('session', peer, e, flush=True)
        c.close()


def session(c, addr):
    f = c.makefile('rb')
    send = lambda t: c.sendall((t + '\r\n').encode())
    send('220 lab ftpd ready')
    pasv = None; active = None
    while True:
        l = line(f); cmd = l.split(' ')[0].upper(); arg = l[len(cmd) + 1:]
        print('<', l, flush=True)
        if cmd == 'USER': send('331 password please')
        elif cmd == 'PASS': send('230 logged in')
        elif cmd == 'TYPE': send('200 type set')
        elif cmd in ('PASV', 'EPSV'):
            pasv = socket.socket(fam(addr), socket.SOCK_STREAM); pasv.bind((addr, 0)); pasv.listen(1)
            p = pasv.getsockname()[1]
            if cmd == 'PASV':
                send('227 Entering Passive Mode (%s,%d,%d).' % (addr.replace('.', ','), p >> 8, p & 255))
            else:
                send('229 Entering Extended Passive Mode (|||%d|)' % p)
        elif cmd == 'PORT':
            n = arg.split(','); active = ('.'.join(n[:4]), int(n[4]) * 256 + int(n[5])); send('200 PORT ok')
        elif cmd == 'EPRT':
            d = arg[0]; _, _, a, p, _ = arg.split(d); active = (a, int(p)); send('200 EPRT ok')
        elif cmd == 'RETR':
            send('150 opening data connection')
            if active:
                d = socket.socket(fam(addr), socket.SOCK_STREAM)
                d.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                d.bind((addr, 20)); d.settimeout(5); d.connect(active)
            else:
                pasv.settimeout(5); d, _ = pasv.accept(); pasv.close()
            d.sendall(DATA); d.close(); pasv = active = None
            send('226 transfer complete')
        elif cmd == 'QUIT':
            send('221 bye'); return
        else:
            send('502 not implemented')


def ftp(server, modes):
    for m in modes:
        c = socket.create_connection((server, 21), timeout=5)
        f = c.makefile('rb')
        def cmd(t):
            c.sendall((t + '\r\n').encode()); r = line(f); print(t, '->', r, flush=True); return r
        print('greeting', line(f), flush=True)
        cmd('USER anonymous'); cmd('PASS lab@'); cmd('TYPE I')
        me = c.getsockname()[0]
        lst = None
        if m == 'pasv':
            r = cmd('PASV'); n = r[r.index('(') + 1:r.index(')')].split(',')
            dst = ('.'.join(n[:4]), int(n[4]) * 256 + int(n[5]))
        elif m == 'epsv':
            r = cmd('EPSV'); dst = (server, int(r[r.index('(') + 1:r.index(')')].split('|')[3]))
        else:
            lst = socket.socket(fam(me), socket.SOCK_STREAM); lst.bind((me, 0)); lst.listen(1)
            p = lst.getsockname()[1]
            if m == 'port':
                cmd('PORT %s,%d,%d' % (me.replace('.', ','), p >> 8, p & 255))
            else:
                cmd('EPRT |%d|%s|%d|' % (2 if ':' in me else 1, me, p))
        c.sendall(b'RETR file\r\n')
        if lst is None:
            d = socket.create_connection(dst, timeout=5)
        else:
            lst.settimeout(5); d, _ = lst.accept(); lst.close()
        print('150?', line(f), flush=True)
        got = b''
        while True:
            b = d.recv(65536)
            if not b: break
            got += b
        d.close()
        print(m, 'got', len(got), got == DATA, line(f), flush=True)
        cmd('QUIT'); c.close()
        time.sleep(0.3)


def stray(server, port):
    try:
        socket.create_connection((server, int(port)), timeout=1.5).close(); print('stray answered')
    except OSError as e:
        print('stray', e)


def tftpd(addr):
    s = socket.socket(fam(addr), socket.SOCK_DGRAM); s.bind((addr, 69))
    while True:
        req, peer = s.recvfrom(2048)
        op = int.from_bytes(req[:2], 'big'); print('tftpd', op, req[2:].split(b'\0')[0], peer, flush=True)
        t = socket.socket(fam(addr), socket.SOCK_DGRAM); t.bind((addr, 0)); t.settimeout(3)
        try:
            if op == 1:
                for blk in range(1, 4):
                    part = TDATA[(blk - 1) * 512:blk * 512]
                    t.sendto(b'\0\3' + blk.to_bytes(2, 'big') + part, peer)
                    t.recvfrom(2048)
            elif op == 2:
                t.sendto(b'\0\4\0\0', peer)
                while True:
                    d, _ = t.recvfrom(2048); t.sendto(b'\0\4' + d[2:4], peer)
                    if len(d) < 516: break
        except OSError as e:
            print('tftpd', e, flush=True)
        t.close()


def tftp(server, op, name):
    s = socket.socket(fam(server), socket.SOCK_DGRAM); s.settimeout(3)
    code = b'\0\1' if op == 'get' else b'\0\2'
    s.sendto(code + name.encode() + b'\0octet\0', (server, 69))
    got = b''
    try:
        if op == 'get':
            while True:
                d, peer = s.recvfrom(2048); got += d[4:]; s.sendto(b'\0\4' + d[2:4], peer)
                if len(d) < 516: break
            print('tftp get', len(got), got == TDATA, flush=True)
        else:
            a, peer = s.recvfrom(2048)
            for blk in range(1, 4):
                s.sendto(b'\0\3' + blk.to_bytes(2, 'big') + TDATA[(blk - 1) * 512:blk * 512], peer)
                s.recvfrom(2048)
            print('tftp put done', flush=True)
    except OSError as e:
        print('tftp', op, e, flush=True)


def run(ns, *cmd):
    """Start `ftpnat.py CMD…` in namespace NS in the background; returns the Popen."""
    return subprocess.Popen(['ip', 'netns', 'exec', ns, sys.executable, os.path.abspath(__file__)] + list(cmd),
                            stdout=open('server-%s.log' % cmd[0], 'a'), stderr=subprocess.STDOUT)


def inns(ns, *cmd):
    """Run `ftpnat.py CMD…` in namespace NS and wait."""
    subprocess.run(['ip', 'netns', 'exec', ns, sys.executable, os.path.abspath(__file__)] + list(cmd))


if __name__ == '__main__':
    a = sys.argv[1:]
    {'ftpd': lambda: ftpd(a[1]), 'ftp': lambda: ftp(a[1], a[2:]), 'stray': lambda: stray(a[1], a[2]),
     'tftpd': lambda: tftpd(a[1]), 'tftp': lambda: tftp(a[1], a[2], a[3])}[a[0]]()
