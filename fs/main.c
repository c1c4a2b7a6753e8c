/*
 * main.c - the archivefs executable: the backend's command line plus the
 * commands that live in fs/ (mount). The only exit is here.
 */
#include <stddef.h>

#include "cli.h"
#include "fs.h"

int main(int argc, char **argv)
{
	static const struct cli_command extra[] = {
		{ "mount", fs_mount_cmd, fs_mount_help },
	};

	return cli_main(argc, argv, extra, sizeof(extra) / sizeof(extra[0]));
}
