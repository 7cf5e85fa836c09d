// SPDX-License-Identifier: MIT
/* Placeholder entry point until the module lands. */
#include <stdio.h>

int main(void)
{
	fprintf(stderr, "not implemented yet\n");
	return 1;
}
