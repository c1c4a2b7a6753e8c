/*
 * cli.h - the archivefs command line, as a library the executable calls.
 *
 * cli_main() parses argv, runs one command and returns the exit status
 * (0 success, 1 failure, 2 usage error); only the executable's main()
 * exits. Commands that live above the backend (the FUSE mount) are handed
 * in as `extra` by the executable, so backend/ never depends on fs/: they
 * are dispatched like the built-in ones and listed by `help`. An extra
 * command handles its own --help. The table is borrowed for the call.
 */
#ifndef ARCHIVEFS_CLI_H
#define ARCHIVEFS_CLI_H

#include <stddef.h>

struct cli_command {
	const char *name;
	/* argv holds the arguments after the command name; returns the exit status */
	int (*fn)(int argc, char **argv);
	const char *help;   /* usage lines for `help`, each "  name ...\n" */
};

int cli_main(int argc, char **argv, const struct cli_command *extra, size_t nextra);

#endif
