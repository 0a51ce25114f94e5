/*
 * manifest.h - `tessera manifest`, the command-line side of publishing
 * (src/cli/manifest.c): print the Manifest or Collection the daemon would
 * answer for a path of the image root, or check a whole tree.
 */
#ifndef TESSERA_CLI_MANIFEST_H
#define TESSERA_CLI_MANIFEST_H

/* Run the subcommand; argv holds its arguments only (after "manifest").
 * Returns the exit status: 0 done (no problem found), 1 an error or
 * problems found, 2 bad usage or settings. */
int ts_cli_manifest(int argc, char **argv);

#endif
