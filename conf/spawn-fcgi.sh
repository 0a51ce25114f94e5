#!/bin/sh
# spawn-fcgi.sh - start Tessera under spawn-fcgi, the way iipsrv is often run.
#
# spawn-fcgi creates the socket, hands it to tessera as standard input and
# exits; tessera serves FastCGI on it with its worker threads (one process
# is enough: do not add -F).  nginx connects to the socket as in
# nginx-tessera.conf.  Stop with:  kill "$(cat /run/tessera/tessera.pid)"
# (tessera lets requests in progress finish, then removes the socket).
#
# spawn-fcgi sends standard error to /dev/null, so the log goes to LOGFILE
# (this script's value wins over logfile in tessera.conf).  Settings come
# from the config file and, as with iipsrv, from environment variables
# such as FILESYSTEM_PREFIX, JPEG_QUALITY or MAX_CVT, exported before
# running this script (they override the file).
#
# Paths, overridable from the environment (defaults shown):
#   TESSERA_BIN=/usr/local/bin/tessera     the program
#   TESSERA_CONFIG=/etc/tessera/tessera.conf
#   TESSERA_RUN_DIR=/run/tessera            tessera.sock and tessera.pid
#   TESSERA_USER=www-data                   user and group to run as (as root)
#   LOGFILE=/var/log/tessera/tessera.log
set -eu
TESSERA_BIN=${TESSERA_BIN:-/usr/local/bin/tessera}
TESSERA_CONFIG=${TESSERA_CONFIG:-/etc/tessera/tessera.conf}
TESSERA_RUN_DIR=${TESSERA_RUN_DIR:-/run/tessera}
TESSERA_USER=${TESSERA_USER:-www-data}
LOGFILE=${LOGFILE:-/var/log/tessera/tessera.log}

logdir=$(dirname "$LOGFILE")
mkdir -p "$TESSERA_RUN_DIR" "$logdir"
as_user=
if [ "$(id -u)" = 0 ]; then
	chown "$TESSERA_USER:$TESSERA_USER" "$TESSERA_RUN_DIR" "$logdir"
	[ ! -e "$LOGFILE" ] || chown "$TESSERA_USER:$TESSERA_USER" "$LOGFILE"
	as_user="-u $TESSERA_USER -g $TESSERA_USER"
fi
# shellcheck disable=SC2086 # as_user is meant to split
exec spawn-fcgi -s "$TESSERA_RUN_DIR/tessera.sock" -M 0666 $as_user \
	-P "$TESSERA_RUN_DIR/tessera.pid" \
	-- "$TESSERA_BIN" serve --config "$TESSERA_CONFIG" --logfile "$LOGFILE"
