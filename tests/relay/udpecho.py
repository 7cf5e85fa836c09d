#!/usr/bin/python3
# A UDP echo standing in for WireGuard's port in the relay's own tests; it
# appends each new source address to a file, so a test can match the
# endpoint the hook reported against the socket that really sent.
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('127.0.0.1', int(sys.argv[1])))
seen = set()
while True:
    d, a = s.recvfrom(65535)
    if a not in seen:
        seen.add(a)
        with open(sys.argv[2], 'a') as f:
            f.write('%s:%d\n' % a)
    s.sendto(d, a)
