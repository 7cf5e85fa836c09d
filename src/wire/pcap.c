// SPDX-License-Identifier: MIT
/*
 * Classic pcap and the layers under UDP. Written here because libpcap's
 * file reader wants a FILE and does I/O, and what is needed on top of it
 * (link header, IPv4, IPv6, UDP) is the same amount of code either way.
 * Every read is bounds-checked against the captured length first; all
 * multi-byte fields go through get16/get32 (memcpy + byte order).
 */
#include "wire/pcap.h"

#include <endian.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

enum {
	MAGIC_USEC = 0xa1b2c3d4,
	MAGIC_NSEC = 0xa1b23c4d,
	MAGIC_PCAPNG = 0x0a0d0d0a,
	ETH_HLEN = 14,
	SLL_HLEN = 16,
	SLL2_HLEN = 20,
	ETHERTYPE_IPV4 = 0x0800,
	ETHERTYPE_IPV6 = 0x86dd,
	ETHERTYPE_VLAN = 0x8100,
	ETHERTYPE_QINQ = 0x88a8,
	IPPROTO_UDP_ = 17,
	UDP_HLEN = 8,
	MAX_EXT_HEADERS = 8,
};

static uint16_t get16be(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return be16toh(v);
}

static uint32_t get32(const uint8_t *p, bool swapped)
{
	uint32_t v;

	memcpy(&v, p, 4);
	v = le32toh(v);
	return swapped ? __builtin_bswap32(v) : v;
}

int pcap_file_parse(struct pcap_file *f, const uint8_t hdr[static PCAP_FILE_HEADER_LEN])
{
	uint32_t magic = get32(hdr, false);
	uint16_t v;

	memset(f, 0, sizeof(*f));
	if (magic == MAGIC_PCAPNG)
		return -EPROTO;
	if (magic == MAGIC_USEC || magic == MAGIC_NSEC)
		f->swapped = false;
	else if (__builtin_bswap32(magic) == MAGIC_USEC || __builtin_bswap32(magic) == MAGIC_NSEC)
		f->swapped = true;
	else
		return -EINVAL;
	f->nanosecond = magic == MAGIC_NSEC || __builtin_bswap32(magic) == MAGIC_NSEC;
	memcpy(&v, hdr + 4, 2);
	v = le16toh(v);
	f->version_major = f->swapped ? __builtin_bswap16(v) : v;
	memcpy(&v, hdr + 6, 2);
	v = le16toh(v);
	f->version_minor = f->swapped ? __builtin_bswap16(v) : v;
	f->snaplen = get32(hdr + 16, f->swapped);
	/* The top bits of the link type field carry FCS information; the
	 * link type itself is the low 16 bits. */
	f->linktype = get32(hdr + 20, f->swapped) & 0xffff;
	switch (f->linktype) {
	case PCAP_LINK_NULL:
	case PCAP_LINK_ETHERNET:
	case PCAP_LINK_RAW:
	case PCAP_LINK_LOOP:
	case PCAP_LINK_LINUX_SLL:
	case PCAP_LINK_IPV4:
	case PCAP_LINK_IPV6:
	case PCAP_LINK_LINUX_SLL2:
		return 0;
	default:
		return -EPROTONOSUPPORT;
	}
}

int pcap_record_parse(const struct pcap_file *f, const uint8_t hdr[static PCAP_RECORD_HEADER_LEN],
		      struct pcap_record *r)
{
	r->ts_sec = get32(hdr, f->swapped);
	r->ts_frac = get32(hdr + 4, f->swapped);
	r->caplen = get32(hdr + 8, f->swapped);
	r->origlen = get32(hdr + 12, f->swapped);
	return r->caplen > PCAP_MAX_CAPLEN ? -EINVAL : 0;
}

const char *pcap_linktype_name(uint32_t linktype)
{
	switch (linktype) {
	case PCAP_LINK_NULL: return "NULL";
	case PCAP_LINK_ETHERNET: return "EN10MB";
	case PCAP_LINK_RAW: return "RAW";
	case PCAP_LINK_LOOP: return "LOOP";
	case PCAP_LINK_LINUX_SLL: return "LINUX_SLL";
	case PCAP_LINK_IPV4: return "IPV4";
	case PCAP_LINK_IPV6: return "IPV6";
	case PCAP_LINK_LINUX_SLL2: return "LINUX_SLL2";
	default: return "unsupported";
	}
}

/* A BSD address family value (either byte order) -> 4, 6 or 0. */
static int family_version(const uint8_t *p)
{
	uint32_t le = get32(p, false), be = get32(p, true);

	if (le == 2 || be == 2)
		return 4;
	/* AF_INET6 is 10 on Linux, 24 on NetBSD/OpenBSD, 28 on FreeBSD, 30 on macOS. */
	if (le == 10 || le == 24 || le == 28 || le == 30 || be == 10 || be == 24 || be == 28 || be == 30)
		return 6;
	return 0;
}

static int udp_from_payload(const uint8_t *p, size_t len, struct pcap_udp *u)
{
	uint16_t ulen;

	if (len < UDP_HLEN)
		return -ENOENT;
	u->sport = get16be(p);
	u->dport = get16be(p + 2);
	ulen = get16be(p + 4);
	if (ulen < UDP_HLEN)
		return -ENOENT;
	u->payload = p + UDP_HLEN;
	u->len = len - UDP_HLEN;
	if (u->len > (size_t)(ulen - UDP_HLEN))
		u->len = ulen - UDP_HLEN; /* link-layer padding */
	u->truncated = u->len < (size_t)(ulen - UDP_HLEN);
	return 0;
}

/* caplen_ip: bytes of the IP packet in the frame (may be less than the
 * packet when the capture was cut by the snap length). */
static int ipv4(const uint8_t *p, size_t caplen_ip, struct pcap_udp *u)
{
	size_t ihl, total;
	uint16_t frag;

	if (caplen_ip < 20 || (p[0] >> 4) != 4)
		return -ENOENT;
	ihl = (size_t)(p[0] & 0x0f) * 4;
	total = get16be(p + 2);
	if (ihl < 20 || total < ihl || caplen_ip < ihl)
		return -ENOENT;
	frag = get16be(p + 6);
	/* More-fragments set or a non-zero offset: not a whole datagram. */
	if (frag & 0x3fff)
		return -ENOENT;
	if (p[9] != IPPROTO_UDP_)
		return -ENOENT;
	if (caplen_ip > total)
		caplen_ip = total; /* Ethernet pads short frames */
	u->family = AF_INET;
	memcpy(u->src, p + 12, 4);
	memcpy(u->dst, p + 16, 4);
	return udp_from_payload(p + ihl, caplen_ip - ihl, u);
}

static int ipv6(const uint8_t *p, size_t caplen_ip, struct pcap_udp *u)
{
	size_t off = 40, total;
	uint8_t next;
	int i;

	if (caplen_ip < 40 || (p[0] >> 4) != 6)
		return -ENOENT;
	total = 40 + (size_t)get16be(p + 4);
	if (total == 40)
		return -ENOENT; /* jumbogram or empty */
	if (caplen_ip > total)
		caplen_ip = total;
	next = p[6];
	for (i = 0; i < MAX_EXT_HEADERS && next != IPPROTO_UDP_; ++i) {
		size_t hlen;

		if (off + 8 > caplen_ip)
			return -ENOENT;
		switch (next) {
		case 0:  /* hop-by-hop */
		case 43: /* routing */
		case 60: /* destination options */
			hlen = ((size_t)p[off + 1] + 1) * 8;
			break;
		case 44: /* fragment: only an atomic one (offset 0, no more) is whole */
			if (get16be(p + off + 2) & 0xfff9)
				return -ENOENT;
			hlen = 8;
			break;
		default:
			return -ENOENT;
		}
		next = p[off];
		off += hlen;
	}
	if (next != IPPROTO_UDP_ || off > caplen_ip)
		return -ENOENT;
	u->family = AF_INET6;
	memcpy(u->src, p + 8, 16);
	memcpy(u->dst, p + 24, 16);
	return udp_from_payload(p + off, caplen_ip - off, u);
}

static int ip_by_version(int version, const uint8_t *p, size_t len, struct pcap_udp *u)
{
	if (version == 4)
		return ipv4(p, len, u);
	if (version == 6)
		return ipv6(p, len, u);
	return -ENOENT;
}

static int ip_by_ethertype(uint16_t type, const uint8_t *p, size_t len, struct pcap_udp *u)
{
	if (type == ETHERTYPE_IPV4)
		return ipv4(p, len, u);
	if (type == ETHERTYPE_IPV6)
		return ipv6(p, len, u);
	return -ENOENT;
}

int pcap_frame_udp(const struct pcap_file *f, const uint8_t *frame, size_t caplen, struct pcap_udp *u)
{
	uint16_t type;
	size_t off;
	int tags;

	memset(u, 0, sizeof(*u));
	switch (f->linktype) {
	case PCAP_LINK_ETHERNET:
		if (caplen < ETH_HLEN)
			return -ENOENT;
		off = ETH_HLEN;
		type = get16be(frame + 12);
		for (tags = 0; tags < 2 && (type == ETHERTYPE_VLAN || type == ETHERTYPE_QINQ); ++tags) {
			if (caplen < off + 4)
				return -ENOENT;
			type = get16be(frame + off + 2);
			off += 4;
		}
		return ip_by_ethertype(type, frame + off, caplen - off, u);
	case PCAP_LINK_LINUX_SLL:
		if (caplen < SLL_HLEN)
			return -ENOENT;
		return ip_by_ethertype(get16be(frame + 14), frame + SLL_HLEN, caplen - SLL_HLEN, u);
	case PCAP_LINK_LINUX_SLL2:
		if (caplen < SLL2_HLEN)
			return -ENOENT;
		return ip_by_ethertype(get16be(frame), frame + SLL2_HLEN, caplen - SLL2_HLEN, u);
	case PCAP_LINK_NULL:
	case PCAP_LINK_LOOP:
		if (caplen < 4)
			return -ENOENT;
		return ip_by_version(family_version(frame), frame + 4, caplen - 4, u);
	case PCAP_LINK_RAW:
		if (caplen < 1)
			return -ENOENT;
		return ip_by_version(frame[0] >> 4, frame, caplen, u);
	case PCAP_LINK_IPV4:
		return ipv4(frame, caplen, u);
	case PCAP_LINK_IPV6:
		return ipv6(frame, caplen, u);
	default:
		return -ENOENT;
	}
}
