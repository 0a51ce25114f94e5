/*
 * convert.h - `tessera convert` (src/cli/convert.c): any image Tessera
 * reads to a tiled pyramid, one file or many.
 */
#ifndef TESSERA_CLI_CONVERT_H
#define TESSERA_CLI_CONVERT_H

/* Run the subcommand; argv holds its arguments only (after "convert").
 * Returns the exit status: 0 done, 1 a conversion failed, 2 bad usage. */
int ts_cli_convert(int argc, char **argv);

#endif
