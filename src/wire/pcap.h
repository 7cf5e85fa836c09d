/* SPDX-License-Identifier: MIT */
#ifndef JITWG_WIRE_PCAP_H
#define JITWG_WIRE_PCAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The classic capture format that `tcpdump -w` writes (not pcapng), and the
 * link, IP and UDP layers of the frames in it. Pure: the caller reads the
 * file and hands over buffers; nothing here reads outside the lengths it is
 * given, allocates, or keeps state between calls.
 */

enum pcap_linktype {
	PCAP_LINK_NULL = 0,         /* BSD loopback: 4-byte family, writer's byte order */
	PCAP_LINK_ETHERNET = 1,
	PCAP_LINK_RAW = 101,        /* bare IPv4 or IPv6 */
	PCAP_LINK_LOOP = 108,       /* OpenBSD loopback: 4-byte family, big-endian */
	PCAP_LINK_LINUX_SLL = 113,  /* tcpdump -i any, libpcap < 1.10 */
	PCAP_LINK_IPV4 = 228,
	PCAP_LINK_IPV6 = 229,
	PCAP_LINK_LINUX_SLL2 = 276, /* tcpdump -i any, libpcap >= 1.10 */
};

enum {
	PCAP_FILE_HEADER_LEN = 24,
	PCAP_RECORD_HEADER_LEN = 16,
	/* Larger than any snap length tcpdump uses (262144), so a record
	 * longer than this means a corrupt file, not a big packet. */
	PCAP_MAX_CAPLEN = 262144,
};

struct pcap_file {
	bool swapped;     /* written on a host of the other byte order */
	bool nanosecond;  /* timestamps' second field counts nanoseconds */
	uint16_t version_major, version_minor;
	uint32_t snaplen;
	uint32_t linktype;
};

struct pcap_record {
	uint32_t ts_sec, ts_frac; /* frac in micro- or nanoseconds */
	uint32_t caplen;          /* bytes of the frame that follow the header */
	uint32_t origlen;         /* bytes the frame had on the wire */
};

/*
 * Parses the 24-byte file header. Returns 0; -EINVAL for a magic number
 * that is not classic pcap's; -EPROTO for pcapng (which the caller may want
 * to name); -EPROTONOSUPPORT for a link type pcap_frame_udp() cannot read.
 * *f is filled on success and on -EPROTONOSUPPORT.
 */
int pcap_file_parse(struct pcap_file *f, const uint8_t hdr[static PCAP_FILE_HEADER_LEN]);

/* Parses a 16-byte record header. Returns 0 or -EINVAL when caplen exceeds
 * PCAP_MAX_CAPLEN (a corrupt file: the caller must not try to read it). */
int pcap_record_parse(const struct pcap_file *f, const uint8_t hdr[static PCAP_RECORD_HEADER_LEN],
		      struct pcap_record *r);

const char *pcap_linktype_name(uint32_t linktype);

struct pcap_udp {
	int family;          /* AF_INET or AF_INET6 */
	uint8_t src[16], dst[16]; /* IPv4 in the first 4 bytes */
	uint16_t sport, dport;
	const uint8_t *payload; /* points into the frame */
	size_t len;          /* bytes of payload present in the frame */
	bool truncated;      /* the UDP header promises more than was captured */
};

/*
 * Finds the UDP datagram in one captured frame of f's link type. Returns 0
 * with *u filled, or -ENOENT when the frame carries no UDP datagram that can
 * be read whole from its first byte: another protocol, an ARP frame, a
 * malformed or cut header, or an IP fragment (never reassembled; a 148-byte
 * initiation is never fragmented). Ethernet may carry up to two VLAN tags;
 * IPv6 extension headers are skipped.
 */
int pcap_frame_udp(const struct pcap_file *f, const uint8_t *frame, size_t caplen, struct pcap_udp *u);

#endif
