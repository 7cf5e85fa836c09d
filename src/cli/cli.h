/* SPDX-License-Identifier: MIT */
#ifndef JITWG_CLI_CLI_H
#define JITWG_CLI_CLI_H

/*
 * Subcommands of the jitwg CLI, one file each. Each takes argv with argv[0]
 * the subcommand name and returns the process exit status. They may print;
 * library code under src/ never does.
 */
int cmd_identify(int argc, char **argv);
int cmd_peer(int argc, char **argv);
int cmd_token(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_loadgen(int argc, char **argv);
int cmd_tunnel(int argc, char **argv);

#endif
