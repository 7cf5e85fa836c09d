// The stream framing as a widely deployed client speaks it, on Node's `ws`
// (Debian's node-ws; it can skip UTF-8 validation, which TEXT frames of raw
// binary need). The client logic is ours, the WebSocket stack is theirs.
//   node node_stream.js URL [CA_FILE]
// Sends the magic, a keepalive, then datagrams: whole, and split across
// frames (as older clients did, length and datagram as separate messages);
// checks every echo comes back as a TEXT frame holding length + datagram.
const WS = require('ws');
const fs = require('fs');
const url = process.argv[2];
const opts = { skipUTF8Validation: true };
if (process.argv[3]) opts.ca = fs.readFileSync(process.argv[3]);
const ws = new WS(url, opts);
const rec = (b) => { const h = Buffer.alloc(4); h.writeUInt32BE(b.length); return Buffer.concat([h, b]); };
const sent = [Buffer.from([4, 1, 2, 3]), Buffer.alloc(1400, 0xab), Buffer.from([0xff, 0xfe, 0x80, 0x00])];
let got = 0;
const timer = setTimeout(() => { console.error('timeout'); process.exit(1); }, 5000);
ws.on('open', () => {
  ws.send(Buffer.concat([Buffer.from([0x2f, 0xac, 0xed, 0x77]), rec(Buffer.alloc(0)), rec(sent[0])]), { binary: false });
  const r = rec(sent[1]);
  ws.send(r.subarray(0, 4), { binary: false });          // the length alone
  ws.send(r.subarray(4, 700), { binary: false });        // then the datagram in two
  ws.send(Buffer.concat([r.subarray(700), rec(sent[2])]), { binary: false });
});
ws.on('message', (d, isBinary) => {
  if (isBinary) { console.error('relay sent a binary frame'); process.exit(1); }
  const want = rec(sent[got]);
  if (!Buffer.from(d).equals(want)) { console.error('echo ' + got + ' differs'); process.exit(1); }
  if (++got === sent.length) ws.close(1000);
});
ws.on('close', (code) => {
  clearTimeout(timer);
  if (got !== sent.length || code !== 1000) { console.error('closed early ' + code); process.exit(1); }
  console.log('ok stream framing over node-ws');
});
ws.on('error', (e) => { console.error('error ' + e.message); process.exit(1); });
