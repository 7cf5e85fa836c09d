// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for the pcap reader: the input is a whole capture file,
 * walked the way jitwg identify walks it (file header, then record header,
 * frame, UDP, initiation) through the pure functions, with every attempt
 * handed to the decoder. The seed corpus is the committed wireguard-go
 * captures, so mutations start from real Ethernet and cooked frames.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "noise/noise.h"
#include "wire/keys.h"
#include "wire/messages.h"
#include "wire/pcap.h"

#include "responder.h"

static struct noise_responder *responder;
static struct noise_sscache *cache;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_responder_setup(&responder, &cache);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pcap_file pf;
	struct pcap_record rec;
	struct pcap_udp u;
	struct noise_result res;
	size_t off = PCAP_FILE_HEADER_LEN;

	if (size < PCAP_FILE_HEADER_LEN || pcap_file_parse(&pf, data))
		return 0;
	while (size - off >= PCAP_RECORD_HEADER_LEN) {
		const uint8_t *frame;

		if (pcap_record_parse(&pf, data + off, &rec))
			return 0;
		off += PCAP_RECORD_HEADER_LEN;
		if (rec.caplen > size - off)
			return 0;
		/* Copy so ASan sees reads past the frame, not into the next record. */
		frame = rec.caplen ? malloc(rec.caplen) : NULL;
		if (rec.caplen && !frame)
			abort();
		if (rec.caplen)
			memcpy((void *)frame, data + off, rec.caplen);
		off += rec.caplen;
		if (!pcap_frame_udp(&pf, frame, rec.caplen, &u)) {
			if (u.len && (u.payload < frame || u.payload + u.len > frame + rec.caplen))
				abort();
			if (message_is_initiation_attempt(u.payload, u.len) &&
			    noise_consume_initiation(responder, cache, u.payload, u.len, &res))
				abort();
		}
		free((void *)frame);
	}
	return 0;
}
