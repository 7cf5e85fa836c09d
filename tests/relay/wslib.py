#!/usr/bin/python3
# Client-side WebSocket frames for the relay's raw-socket tests (rawws.py,
# hostile.py): exactly the bytes a case needs, stdlib only.
import os, struct

def frame(op, payload, mask=True, fin=True, rsv=0):
    b0 = (0x80 if fin else 0) | (rsv << 4) | op
    n = len(payload)
    if n < 126:
        hdr = struct.pack('!BB', b0, (0x80 if mask else 0) | n)
    elif n < 65536:
        hdr = struct.pack('!BBH', b0, (0x80 if mask else 0) | 126, n)
    else:
        hdr = struct.pack('!BBQ', b0, (0x80 if mask else 0) | 127, n)
    if not mask:
        return hdr + payload
    if mask is True:
        k = os.urandom(4)
        return hdr + k + bytes(b ^ k[i % 4] for i, b in enumerate(payload))
    return hdr + b'\0\0\0\0' + payload  # mask='zero': a zero key, the payload as it is (fast)

class Reader:
    def __init__(self, s, rest=b''):
        self.s, self.buf = s, rest
    def need(self, n):
        while len(self.buf) < n:
            d = self.s.recv(65536)
            if not d:
                raise EOFError('connection closed')
            self.buf += d
        out, self.buf = self.buf[:n], self.buf[n:]
        return out
    def frame(self):
        b0, b1 = self.need(2)
        if b1 & 0x80:
            raise AssertionError('server frame is masked')
        n = b1 & 0x7f
        if n == 126:
            n = struct.unpack('!H', self.need(2))[0]
        elif n == 127:
            n = struct.unpack('!Q', self.need(8))[0]
        return b0 & 0x0f, bool(b0 & 0x80), self.need(n)
