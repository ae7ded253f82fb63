# Dual-stack servers for the guide labs: HTTP/1.1 with keep-alive on tcp 80 and 443 (plain),
# an ssh-like banner+echo on tcp 22, a DNS-like UDP echo on 53.
import socket, threading, http.server, socketserver
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    def do_GET(self):
        body = b'hello from ' + self.path.encode() + b'\n' * 1
        self.send_response(200); self.send_header('Content-Length', str(len(body))); self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a): pass
class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    address_family = socket.AF_INET6; daemon_threads = True; allow_reuse_address = True
    def server_bind(self):
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0); super().server_bind()
def ssh(port):
    s = socket.socket(10, 1); s.setsockopt(41, 26, 0); s.setsockopt(1, 2, 1); s.bind(('::', port)); s.listen(64)
    while True:
        c, _ = s.accept()
        def h(c):
            try:
                c.sendall(b'SSH-2.0-OpenSSH_9.6\r\n')
                while True:
                    d = c.recv(1000)
                    if not d: break
                    c.sendall(d)
                c.close()
            except Exception: pass
        threading.Thread(target=h, args=(c,), daemon=True).start()
def dns(port):
    s = socket.socket(10, 2); s.setsockopt(41, 26, 0); s.bind(('::', port))
    while True:
        d, a = s.recvfrom(2000); s.sendto(d[:2] + b'\x81\x80' + d[4:], a)
for p in (80, 443):
    threading.Thread(target=S(('::', p), H).serve_forever, daemon=True).start()
threading.Thread(target=ssh, args=(22,), daemon=True).start()
threading.Thread(target=dns, args=(53,), daemon=True).start()
threading.Event().wait()
