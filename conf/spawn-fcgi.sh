#!/bin/sh
# spawn-fcgi.sh - start Tessera under spawn-fcgi, the way iipsrv is often run.
#
# spawn-fcgi creates the socket, hands it to tessera as standard input and
# exits; tessera serves FastCGI on it with its worker threads (one process
# is enough: do not add -F).  nginx connects to the socket as in
# conf/nginx-tessera.conf.  Stop with: kill "$(cat /run/tessera/tessera.pid)"
#
# Settings come from the config file, and, as with iipsrv, from environment
# variables such as FILESYSTEM_PREFIX, JPEG_QUALITY or MAX_CVT.
set -e
mkdir -p /run/tessera
chown www-data:www-data /run/tessera
exec spawn-fcgi -s /run/tessera/tessera.sock -M 0666 -u www-data -g www-data \
	-P /run/tessera/tessera.pid \
	-- /usr/local/bin/tessera serve --config /etc/tessera/tessera.conf
