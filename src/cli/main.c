// SPDX-License-Identifier: MIT
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "common/log.h"

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
} subcommands[] = {
	{ "identify", cmd_identify, "Name the sender of WireGuard handshake initiations" },
	{ "peer", cmd_peer, "Add, get, list, delete peers in the registry; make a client config" },
	{ "token", cmd_token, "Create, list, revoke the registry's scoped tokens" },
	{ "status", cmd_status, "Show what a running jitwgd sees" },
	{ "bench", cmd_bench, "Run built-in benchmarks" },
	{ "loadgen", cmd_loadgen, "Simulate many WireGuard clients against a gateway" },
	{ "tunnel", cmd_tunnel, "Carry WireGuard over a WebSocket to jitwg-relay (UDP-blocked networks)" },
};

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "Usage: jitwg <command> [<args>]\n\nCommands:\n");
	for (i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); ++i)
		fprintf(f, "  %-10s %s\n", subcommands[i].name, subcommands[i].help);
	fprintf(f, "\nRun 'jitwg <command> --help' for a command's options.\n"
		   "  --help, --version\n");
}

int main(int argc, char **argv)
{
	size_t i;

	log_set_ident("jitwg");
	if (argc < 2) {
		usage(stderr);
		return 1;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("jitwg %s\n", JITWG_VERSION);
		return 0;
	}
	for (i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); ++i) {
		if (!strcmp(argv[1], subcommands[i].name))
			return subcommands[i].fn(argc - 1, argv + 1);
	}
	fprintf(stderr, "jitwg: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 1;
}
