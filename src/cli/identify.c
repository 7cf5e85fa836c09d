// SPDX-License-Identifier: MIT
/* Placeholder until its module lands. */
#include <stdio.h>
#include "cli/cli.h"

int cmd_identify(int argc, char **argv)
{
	fprintf(stderr, "jitwg identify: not implemented yet\n");
	return 1;
}
