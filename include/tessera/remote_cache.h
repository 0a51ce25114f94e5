/*
 * remote_cache.h - the shared response cache in memcached (src/cache/memcached.c).
 *
 * With memcached_servers set (MEMCACHED_SERVERS as in iipsrv, e.g.
 * "127.0.0.1:11211,10.0.0.2:11211"), encoded responses also go to
 * memcached, so several Tessera instances behind one load balancer share
 * their work.  It sits behind the in-process cache (cache.h): a request
 * looks in its own process first, then in memcached, then renders.
 *
 * The remote cache is only ever an optimisation: a memcached that is down,
 * slow, full or holding something foreign costs a miss, never an error to
 * the client.  Connections use short timeouts (100 ms) and a failed server
 * is not retried for 2 s, so a dead memcached never stalls a request.
 * Failures are counted and logged at most once every 10 s.
 *
 * Values carry their own key and content type, which are checked on the way
 * back: a value written by something else, truncated, or stored under a
 * colliding hashed key is a miss.
 *
 * Thread-safety: every function may be called from many worker threads at
 * once on the same handle, except create/destroy.
 */
#ifndef TESSERA_REMOTE_CACHE_H
#define TESSERA_REMOTE_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "buf.h"
#include "status.h"

struct ts_remote_cache;

/* How long entries live in memcached unless the caller says otherwise
 * (iipsrv's MEMCACHED_TIMEOUT default): a day, like Cache-Control's default. */
#define TS_REMOTE_CACHE_TTL 86400u

/* The largest value stored, header included: memcached refuses items over
 * its item size limit (1 MiB by default, -I), which also counts the item's
 * own header and key, so keep a margin. */
#define TS_REMOTE_CACHE_MAX_VALUE ((size_t)1048576 - 1024)

/*
 * Connect to the comma-separated "host:port" list in servers (port defaults
 * to 11211; "host" alone, "[v6addr]:port" and "/unix/socket" work too).
 * NULL or "" returns NULL with err untouched: the remote cache is disabled,
 * and every other function accepts that NULL as "nothing there".  A list
 * that does not parse returns NULL with err set (400, naming the setting).
 * No connection is made here (connections open lazily), so a memcached
 * that is down at startup is not an error.  Returns a new handle; free it
 * with ts_remote_cache_destroy.
 */
struct ts_remote_cache *ts_remote_cache_create(const char *servers, struct ts_error *err);

/* Close every connection and free the handle.  Only when no thread uses it.
 * Accepts NULL. */
void ts_remote_cache_destroy(struct ts_remote_cache *rc);

/*
 * Look key up (any string; long or unusual keys are hashed).  On a hit,
 * returns true, replaces body's contents with the cached body and writes
 * the content type, NUL-terminated, into content_type[ct_size].  On a miss
 * (including memcached failures, foreign or corrupt values, a content type
 * longer than ct_size - 1, and rc == NULL) returns false; body is then
 * unchanged, except that it may be emptied when memory runs out.
 * body stays owned by the caller.
 */
bool ts_remote_cache_get(struct ts_remote_cache *rc, const char *key, struct ts_buf *body,
                         char *content_type, size_t ct_size);

/*
 * Store a copy of data[len] with its content type under key for ttl_seconds
 * (0 = TS_REMOTE_CACHE_TTL).  Best effort: values larger than
 * TS_REMOTE_CACHE_MAX_VALUE, content types over 127 bytes or with control
 * characters, and memcached failures are silently not stored (failures are
 * counted and logged).  Borrows everything.  rc == NULL does nothing.
 */
void ts_remote_cache_put(struct ts_remote_cache *rc, const char *key, const void *data,
                         size_t len, const char *content_type, uint32_t ttl_seconds);

/*
 * Counters since create: hits and misses count ts_remote_cache_get calls
 * (every call is one or the other, so hits + misses = lookups); errors
 * counts memcached operations that failed (gets and puts: timeouts, refused
 * connections, servers marked dead), not plain misses.  Any output pointer
 * may be NULL; rc == NULL gives zeros.
 */
void ts_remote_cache_stats(struct ts_remote_cache *rc, uint64_t *hits, uint64_t *misses,
                           uint64_t *errors);

/*
 * A string equal to content_type that lives until the process exits, for
 * the places that need a static content type (ts_cache_put, and
 * resp->content_type beyond the request) after a remote hit filled a
 * buffer.  Up to 64 distinct types are remembered; NULL when the table is
 * full or the type is empty or too long (treat that as a miss).
 * Thread-safe.
 */
const char *ts_remote_cache_intern_type(const char *content_type);

#endif
