// SPDX-License-Identifier: MIT
/*
 * jitwg identify: names the sender of WireGuard handshake initiations, from
 * hex lines on stdin or from a capture. One output line per message:
 * "<sender_index> <initiator_public_key_base64> <verdict>", '-' for a field
 * that could not be obtained. The exact contract is in docs/API.md.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "wire/keyfile.h"
#include "noise/noise.h"
#include "wire/keys.h"
#include "wire/messages.h"
#include "wire/pcap.h"

enum { EXIT_USAGE = 2, SSCACHE_CAPACITY = 4096 };

struct identify {
	struct noise_responder *r;
	struct noise_sscache *cache;
	FILE *out;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: jitwg identify --private-key FILE [--pcap CAPTURE]\n"
		"\n"
		"Prints \"<sender_index> <initiator_public_key> <verdict>\" for each WireGuard\n"
		"handshake initiation, '-' for a field that could not be obtained; verdicts:\n"
		"ok, bad-format, bad-mac1, bad-static, bad-timestamp.\n"
		"\n"
		"  --private-key FILE  the responder's private key, as `wg genkey` writes it\n"
		"  --pcap CAPTURE      read a `tcpdump -w` capture ('-' for stdin); without it,\n"
		"                      read one UDP payload per line of hex from stdin\n");
}

static void print_result(struct identify *id, const struct noise_result *res)
{
	char b64[WG_KEY_B64_LEN + 1];

	if (res->has_sender_index)
		fprintf(id->out, "%u ", (unsigned)res->sender_index);
	else
		fputs("- ", id->out);
	if (res->has_static) {
		key_to_base64(b64, res->initiator_static);
		fprintf(id->out, "%s ", b64);
	} else {
		fputs("- ", id->out);
	}
	fprintf(id->out, "%s\n", noise_verdict_name(res->verdict));
}

static int consume(struct identify *id, const uint8_t *payload, size_t len)
{
	struct noise_result res;
	int ret;

	ret = noise_consume_initiation(id->r, id->cache, payload, len, &res);
	if (ret) {
		fprintf(stderr, "jitwg identify: cannot set up the crypto contexts: %s\n", strerror(-ret));
		return ret;
	}
	print_result(id, &res);
	explicit_bzero(&res, sizeof(res));
	return 0;
}

/*
 * Hex mode: every input line gives exactly one output line, so the output
 * can be pasted next to the input. Whitespace anywhere in a line is
 * ignored (hex dumps group bytes); anything else that is not an even run of
 * hex digits is a bad-format message, including an empty line.
 */
static int identify_hex(struct identify *id, FILE *in)
{
	uint8_t payload[WG_MSG_INITIATION_LEN];
	char *line = NULL;
	size_t cap = 0, i, n;
	ssize_t got;
	long len;
	int ret = 0;

	while ((got = getline(&line, &cap, in)) >= 0) {
		for (i = 0, n = 0; i < (size_t)got; ++i) {
			if (!isspace((unsigned char)line[i]))
				line[n++] = line[i];
		}
		len = hex_decode(payload, sizeof(payload), line, n);
		/* Any decode error (odd length, bad digit, longer than an
		 * initiation) gives the decoder a length it rejects. */
		ret = consume(id, payload, len < 0 ? 0 : (size_t)len);
		if (ret)
			break;
	}
	if (!ret && ferror(in)) {
		fprintf(stderr, "jitwg identify: stdin: %s\n", strerror(errno));
		ret = -EIO;
	}
	free(line);
	return ret;
}

static size_t read_full(FILE *f, void *buf, size_t len)
{
	return fread(buf, 1, len, f);
}

static int capture_error(const char *path, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int capture_error(const char *path, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "jitwg identify: %s: ", path);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -EINVAL;
}

static int identify_pcap(struct identify *id, const char *path)
{
	uint8_t fhdr[PCAP_FILE_HEADER_LEN], rhdr[PCAP_RECORD_HEADER_LEN];
	uint8_t *frame = NULL;
	struct pcap_file pf;
	struct pcap_record rec;
	struct pcap_udp udp;
	unsigned long recno = 0;
	bool warned_cut = false;
	FILE *f;
	size_t got;
	int ret = 0;

	f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	if (!f)
		return capture_error(path, "%s", strerror(errno));
	got = read_full(f, fhdr, sizeof(fhdr));
	if (got != sizeof(fhdr)) {
		ret = ferror(f) ? capture_error(path, "%s", strerror(errno))
				: capture_error(path, "truncated pcap file header (%zu of %d bytes)", got,
						PCAP_FILE_HEADER_LEN);
		goto out;
	}
	ret = pcap_file_parse(&pf, fhdr);
	if (ret == -EPROTO) {
		ret = capture_error(path, "pcapng is not supported; convert it with: tcpdump -r %s -w OUT.pcap",
				    path);
		goto out;
	} else if (ret == -EPROTONOSUPPORT) {
		ret = capture_error(path, "unsupported link type %u (supported: EN10MB, LINUX_SLL, "
				    "LINUX_SLL2, RAW, IPV4, IPV6, NULL, LOOP)", (unsigned)pf.linktype);
		goto out;
	} else if (ret) {
		ret = capture_error(path, "not a pcap capture (bad magic number %02x%02x%02x%02x)",
				    fhdr[0], fhdr[1], fhdr[2], fhdr[3]);
		goto out;
	}
	frame = malloc(PCAP_MAX_CAPLEN);
	if (!frame) {
		ret = capture_error(path, "%s", strerror(ENOMEM));
		goto out;
	}
	for (;;) {
		got = read_full(f, rhdr, sizeof(rhdr));
		if (got == 0 && !ferror(f))
			break;
		++recno;
		if (got != sizeof(rhdr)) {
			ret = ferror(f) ? capture_error(path, "%s", strerror(errno))
					: capture_error(path, "record %lu: truncated record header (%zu of %d bytes)",
							recno, got, PCAP_RECORD_HEADER_LEN);
			goto out;
		}
		if (pcap_record_parse(&pf, rhdr, &rec)) {
			ret = capture_error(path, "record %lu: captured length %u is larger than %d; the file is corrupt",
					    recno, (unsigned)rec.caplen, PCAP_MAX_CAPLEN);
			goto out;
		}
		got = read_full(f, frame, rec.caplen);
		if (got != rec.caplen) {
			ret = ferror(f) ? capture_error(path, "%s", strerror(errno))
					: capture_error(path, "record %lu: truncated record (%zu of %u bytes)",
							recno, got, (unsigned)rec.caplen);
			goto out;
		}
		if (pcap_frame_udp(&pf, frame, rec.caplen, &udp))
			continue;
		if (!message_is_initiation_attempt(udp.payload, udp.len))
			continue;
		if (udp.truncated && !warned_cut) {
			fprintf(stderr, "jitwg identify: %s: record %lu: datagram cut by the snap length (%u); "
				"capture with tcpdump -s 0\n", path, recno, (unsigned)pf.snaplen);
			warned_cut = true;
		}
		ret = consume(id, udp.payload, udp.len);
		if (ret)
			goto out;
	}
out:
	free(frame);
	if (f && f != stdin)
		fclose(f);
	return ret;
}

int cmd_identify(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "private-key", required_argument, NULL, 'k' },
		{ "pcap", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct identify id = { .out = stdout };
	const char *key_path = NULL, *pcap_path = NULL, *why = NULL;
	uint8_t key[WG_KEY_LEN];
	int c, ret, status = 1;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":k:p:h", opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			key_path = optarg;
			break;
		case 'p':
			pcap_path = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case ':':
			fprintf(stderr, "jitwg identify: option '%s' needs an argument\n", argv[optind - 1]);
			usage(stderr);
			return EXIT_USAGE;
		default:
			fprintf(stderr, "jitwg identify: bad option '%s'\n", argv[optind - 1]);
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc || !key_path) {
		if (optind != argc)
			fprintf(stderr, "jitwg identify: unexpected argument '%s'\n", argv[optind]);
		else
			fprintf(stderr, "jitwg identify: --private-key is required\n");
		usage(stderr);
		return EXIT_USAGE;
	}

	ret = keyfile_read(key, key_path, &why);
	if (ret) {
		fprintf(stderr, "jitwg identify: %s: %s\n", key_path, why);
		goto out;
	}
	if (why)
		fprintf(stderr, "jitwg identify: warning: %s: %s\n", key_path, why);
	id.r = noise_responder_new(key);
	if (!id.r) {
		fprintf(stderr, "jitwg identify: cannot use the private key: %s\n", strerror(errno));
		goto out;
	}
	id.cache = noise_sscache_new(SSCACHE_CAPACITY);
	if (!id.cache) {
		fprintf(stderr, "jitwg identify: %s\n", strerror(errno));
		goto out;
	}
	ret = pcap_path ? identify_pcap(&id, pcap_path) : identify_hex(&id, stdin);
	if (fflush(stdout) || ferror(stdout)) {
		fprintf(stderr, "jitwg identify: stdout: %s\n", strerror(errno));
		goto out;
	}
	if (!ret)
		status = 0;
out:
	explicit_bzero(key, sizeof(key));
	noise_sscache_free(id.cache);
	noise_responder_free(id.r);
	return status;
}
