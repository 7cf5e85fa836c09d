/* SPDX-License-Identifier: MIT */
#ifndef JITWG_REGISTRY_TOKENCLI_H
#define JITWG_REGISTRY_TOKENCLI_H

/*
 * `jitwg-registry token ...` (argv[0] is "token"): create, list and revoke
 * API tokens on the database directly. Returns the exit status (0, 1, 2).
 */
int registry_token_main(int argc, char **argv);

#endif
