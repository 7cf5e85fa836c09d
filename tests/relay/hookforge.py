#!/usr/bin/python3
# Sends one hook message (src/wire/hook.h) naming ENDPOINT, as whoever runs
# it: a forger's hand-off, written from the format, not the relay's code.
#   hookforge.py SOCKET_PATH ENDPOINT_IPV4 PORT
import os, socket, struct, sys
path, ep, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
init = b'\x01\0\0\0' + os.urandom(144)
m = (b'JWH1' + bytes([4, 4, 0, 0]) + socket.inet_aton(ep) + bytes(12) +
     struct.pack('!HH', port, 40000) + socket.inet_aton('203.0.113.7') + bytes(12) + init)
assert len(m) == 192
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.sendto(m, path)
print('sent', flush=True)
