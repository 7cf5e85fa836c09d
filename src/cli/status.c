// SPDX-License-Identifier: MIT
/* Placeholder until its module lands. */
#include <stdio.h>
#include "cli/cli.h"

int cmd_status(int argc, char **argv)
{
	fprintf(stderr, "jitwg status: not implemented yet\n");
	return 1;
}
