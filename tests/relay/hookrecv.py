#!/usr/bin/python3
# Receives hook messages (src/wire/hook.h) and prints one line per message:
# "ENDPOINT CLIENT INIT_SHA256_PREFIX"; an independent reader of the format.
#   hookrecv.py SOCKET_PATH [PIDFILE]
import hashlib, ipaddress, os, socket, struct, sys
path = sys.argv[1]
try:
    os.unlink(path)
except FileNotFoundError:
    pass
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
if len(sys.argv) > 2:
    with open(sys.argv[2], 'w') as f:
        f.write('%d\n' % os.getpid())
def addr(fam, raw, port):
    if fam == 4:
        return '%s:%d' % (ipaddress.IPv4Address(raw[:4]), port)
    return '[%s]:%d' % (ipaddress.IPv6Address(raw), port)
while True:
    m = s.recv(4096)
    assert len(m) == 192 and m[:4] == b'JWH1', m[:8]
    efam, cfam = m[4], m[5]
    eport, cport = struct.unpack('!HH', m[24:28])
    init = m[44:]
    assert init[:4] == b'\x01\0\0\0'
    print(addr(efam, m[8:24], eport), addr(cfam, m[28:44], cport),
          hashlib.sha256(init).hexdigest()[:16], flush=True)
