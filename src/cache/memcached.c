/*
 * memcached.c - the shared response cache in memcached (remote_cache.h).
 *
 * After a miss in the in-process cache the server asks memcached, and after
 * rendering it stores the encoded response there too, so Tessera instances
 * behind one load balancer render each tile once between them.
 *
 * The one idea: memcached is treated as a hint, never trusted and never
 * waited on.  Every value carries a small header (magic, lengths, content
 * type and the full original key) that is checked on the way back, so a
 * foreign, truncated or hash-colliding value is just a miss; and every
 * operation runs with 100 ms timeouts on a pooled connection that is taken
 * with a 20 ms wait, so a dead or overloaded memcached costs a miss, not a
 * stalled worker.
 *
 * Why a pool (libmemcachedutil's memcached_pool_st) rather than one
 * memcached_st per thread: the handle does not know the worker threads (the
 * FastCGI and HTTP front ends each run their own), per-thread handles held
 * in thread-specific data cannot be closed by destroy while those threads
 * live, and the pool bounds the connections one process opens to each
 * memcached (TS_POOL_MAX) however many threads ask.  Connections are made
 * lazily and cloned from one configured master, so every pooled connection
 * has the same timeouts and the same consistent (ketama) distribution,
 * which is what makes all instances agree on which server holds a key.
 *
 * Value layout (integers big-endian), stored with memcached flags TS_FLAGS:
 *   0  "TSR1"  magic
 *   4  u8      content type length (1..127)
 *   5  u8      0 (reserved)
 *   6  u16     original key length
 *   8  u32     body length
 *   12 content type, original key, body
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libmemcached/memcached.h>
#include <libmemcached/util.h>

#include "tessera/hash.h"
#include "tessera/checked.h"
#include "tessera/log.h"
#include "tessera/remote_cache.h"

#define TS_MAGIC "TSR1"
#define TS_HEADER 12
#define TS_FLAGS 0x54535231u          /* "TSR1": cheap first check on get */
#define TS_CT_MAX 127
#define TS_POOL_MAX 64                /* connections per process (each reaches every server) */
#define TS_POOL_WAIT_NS 20000000L     /* wait for a free connection: 20 ms */
#define TS_TIMEOUT_MS 100             /* connect and poll timeouts */
#define TS_RETRY_S 2                  /* a failed server is left alone this long */
#define TS_LOG_EVERY_S 10             /* at most one failure line per this many seconds */
#define TS_PREFIX "ts1"               /* bump when the key or value format changes */

struct ts_remote_cache {
	memcached_st *master;             /* configuration the pool clones */
	memcached_pool_st *pool;
	atomic_uint_fast64_t hits, misses, errors;
	atomic_llong last_log;            /* monotonic second of the last failure line */
};

static long long now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec;
}

/*
 * Count a failure and log it unless another line was written in the last
 * TS_LOG_EVERY_S seconds (memcached down means every request fails; one
 * line now and then is enough to notice).  what is a string literal.
 */
static void failure(struct ts_remote_cache *rc, const char *what, memcached_st *mc,
                    memcached_return_t ret)
{
	uint_fast64_t n = atomic_fetch_add(&rc->errors, 1) + 1;
	long long now = now_seconds(), last = atomic_load(&rc->last_log);

	if (now - last < TS_LOG_EVERY_S || !atomic_compare_exchange_strong(&rc->last_log, &last, now))
		return;
	ts_log(TS_LOG_WARN, "memcached %s failed: %s (%llu failures so far; treated as misses, "
	       "logged at most every %d s)", what,
	       mc ? memcached_last_error_message(mc) : memcached_strerror(NULL, ret),
	       (unsigned long long)n, TS_LOG_EVERY_S);
}

/* ---------------------------------------------------------------- keys */

/*
 * A 128-bit hash in two 64-bit lanes (an FNV-1a lane and a multiply-add
 * lane), each finished with a 64-bit avalanche mix that folds in the other
 * lane and the length.  It only has to spread keys: values carry the full
 * key, so a collision costs a miss, never a wrong answer.
 */
static void hash128(const unsigned char *s, size_t n, uint64_t out[2])
{
	uint64_t a = 0xcbf29ce484222325ull, b = 0x9e3779b97f4a7c15ull;

	for (size_t i = 0; i < n; i++) {
		a = (a ^ s[i]) * 0x100000001b3ull;
		b = (b + s[i] + 1) * 0xd6e8feb86659fd93ull;
		b ^= b >> 32;
	}
	out[0] = ts_hash_mix(a ^ ts_hash_mix(b + n));
	out[1] = ts_hash_mix(b ^ ts_hash_mix(out[0] + n));
}

/*
 * The memcached key for key, into out[MEMCACHED_MAX_KEY].  Keys that are
 * short and made of printable non-space ASCII are used as they are (handy
 * when looking at memcached by hand); the others become 32 hex digits of
 * their hash.  The two forms differ in the byte after the prefix (':' or
 * '#'), so they never meet.  Returns the length.
 */
static size_t memcached_key(const char *key, size_t klen, char *out)
{
	static const char hex[] = "0123456789abcdef";
	const size_t plen = sizeof TS_PREFIX;   /* prefix plus ':' or '#' */
	bool plain = klen + plen < MEMCACHED_MAX_KEY;
	uint64_t h[2];
	size_t i;

	for (i = 0; plain && i < klen; i++)
		plain = key[i] > 0x20 && key[i] < 0x7f;
	memcpy(out, TS_PREFIX, plen - 1);
	if (plain) {
		out[plen - 1] = ':';
		memcpy(out + plen, key, klen);
		out[plen + klen] = '\0';
		return plen + klen;
	}
	out[plen - 1] = '#';
	hash128((const unsigned char *)key, klen, h);
	for (i = 0; i < 32; i++)
		out[plen + i] = hex[(h[i / 16] >> (60 - 4 * (i % 16))) & 15];
	out[plen + 32] = '\0';
	return plen + 32;
}

/* A content type we will put in a header: printable ASCII, short. */
static bool type_ok(const char *ct, size_t n)
{
	if (n == 0 || n > TS_CT_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (ct[i] < 0x20 || ct[i] >= 0x7f)
			return false;
	return true;
}

/* ---------------------------------------------------------------- life */

/*
 * Add one "host", "host:port", "[v6addr]", "[v6addr]:port" or "/unix/path"
 * (spaces trimmed) to mc.  libmemcached's own list parser accepts anything,
 * so a typo would silently become "localhost:0": check it here instead.
 */
static bool add_server(memcached_st *mc, const char *s, size_t n)
{
	char host[256];
	const char *h = s, *hend, *colon;
	unsigned long port = 11211;

	while (n && (*s == ' ' || *s == '\t'))
		s++, n--, h = s;
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (n == 0 || n >= sizeof host)
		return false;
	if (*s == '/') {
		memcpy(host, s, n);
		host[n] = '\0';
		return memcached_server_add_unix_socket(mc, host) == MEMCACHED_SUCCESS;
	}
	if (*s == '[') {
		h = s + 1;
		hend = memchr(s, ']', n);
		if (!hend)
			return false;
		colon = hend + 1 < s + n ? hend + 1 : NULL;
		if (colon && *colon != ':')
			return false;
		for (const char *c = h; c < hend; c++)
			if (!strchr("0123456789abcdefABCDEF:.", *c))
				return false;
	} else {
		colon = memchr(s, ':', n);
		hend = colon ? colon : s + n;
		for (const char *c = h; c < hend; c++)
			if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
			      (*c >= '0' && *c <= '9') || *c == '.' || *c == '-' || *c == '_'))
				return false;
	}
	if (hend == h)
		return false;
	if (colon) {
		const char *c = colon + 1;
		if (c == s + n)
			return false;
		for (port = 0; c < s + n; c++) {
			if (*c < '0' || *c > '9' || port > 65535)
				return false;
			port = port * 10 + (unsigned long)(*c - '0');
		}
		if (port == 0 || port > 65535)
			return false;
	}
	memcpy(host, h, (size_t)(hend - h));
	host[hend - h] = '\0';
	return memcached_server_add(mc, host, (in_port_t)port) == MEMCACHED_SUCCESS;
}

struct ts_remote_cache *ts_remote_cache_create(const char *servers, struct ts_error *err)
{
	struct ts_remote_cache *rc = NULL;
	const char *p, *comma;

	if (!servers || !*servers)
		return NULL;
	rc = calloc(1, sizeof *rc);
	if (!rc || !(rc->master = memcached_create(NULL))) {
		ts_error_set(err, TS_EINTERNAL, "out of memory");
		goto fail;
	}
	atomic_init(&rc->last_log, now_seconds() - TS_LOG_EVERY_S);
	for (p = servers; ; p = comma + 1) {
		comma = strchr(p, ',');
		if (!add_server(rc->master, p, comma ? (size_t)(comma - p) : strlen(p))) {
			ts_error_set(err, TS_EBADREQUEST, "memcached_servers: expected "
			             "host:port[,host:port...], got '%.100s'", servers);
			if (memcached_last_error(rc->master) != MEMCACHED_SUCCESS)
				ts_error_detail(err, "libmemcached: %s",
				                memcached_last_error_message(rc->master));
			goto fail;
		}
		if (!comma)
			break;
	}
	/* Set on the master before the pool clones it.  NO_BLOCK makes the
	 * connect timeout apply; poll/send/receive timeouts bound each wait;
	 * RETRY_TIMEOUT keeps a failed server from costing a timeout on every
	 * request; ketama spreads keys so all instances agree on the server and
	 * adding one moves few keys. */
	if (memcached_behavior_set(rc->master, MEMCACHED_BEHAVIOR_NO_BLOCK, 1) ||
	    memcached_behavior_set(rc->master, MEMCACHED_BEHAVIOR_TCP_NODELAY, 1) ||
	    memcached_behavior_set(rc->master, MEMCACHED_BEHAVIOR_CONNECT_TIMEOUT, TS_TIMEOUT_MS) ||
	    memcached_behavior_set(rc->master, MEMCACHED_BEHAVIOR_POLL_TIMEOUT, TS_TIMEOUT_MS) ||
	    memcached_behavior_set(rc->master, MEMCACHED_BEHAVIOR_SND_TIMEOUT,
	                           TS_TIMEOUT_MS * 1000) ||
	    memcached_behavior_set(rc->master, MEMCACHED_BEHAVIOR_RCV_TIMEOUT,
	                           TS_TIMEOUT_MS * 1000) ||
	    memcached_behavior_set(rc->master, MEMCACHED_BEHAVIOR_RETRY_TIMEOUT, TS_RETRY_S) ||
	    memcached_behavior_set(rc->master, MEMCACHED_BEHAVIOR_DISTRIBUTION,
	                           MEMCACHED_DISTRIBUTION_CONSISTENT)) {
		ts_error_set(err, TS_EINTERNAL, "cannot configure the memcached client");
		ts_error_detail(err, "libmemcached: %s", memcached_last_error_message(rc->master));
		goto fail;
	}
	rc->pool = memcached_pool_create(rc->master, 1, TS_POOL_MAX);
	if (!rc->pool) {
		ts_error_set(err, TS_EINTERNAL, "cannot create the memcached connection pool");
		goto fail;
	}
	return rc;
fail:
	ts_remote_cache_destroy(rc);
	return NULL;
}

void ts_remote_cache_destroy(struct ts_remote_cache *rc)
{
	if (!rc)
		return;
	if (rc->pool)
		memcached_pool_destroy(rc->pool);   /* frees the clones, returns the master */
	memcached_free(rc->master);
	free(rc);
}

/* A pooled connection, or NULL (counted as a failure) after TS_POOL_WAIT_NS. */
static memcached_st *take(struct ts_remote_cache *rc)
{
	struct timespec wait = { 0, TS_POOL_WAIT_NS };
	memcached_return_t ret = MEMCACHED_SUCCESS;
	memcached_st *mc = memcached_pool_fetch(rc->pool, &wait, &ret);

	if (!mc)
		failure(rc, "connection pool fetch", NULL, ret);
	return mc;
}

/* ---------------------------------------------------------------- get/put */

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

bool ts_remote_cache_get(struct ts_remote_cache *rc, const char *key, struct ts_buf *body,
                         char *content_type, size_t ct_size)
{
	char mkey[MEMCACHED_MAX_KEY];
	size_t klen, mklen, vlen = 0, want;
	uint32_t flags = 0;
	memcached_return_t ret;
	memcached_st *mc;
	unsigned char *v = NULL;
	const unsigned char *ct, *vkey, *data;
	size_t ctlen, vklen, blen;

	if (!rc)
		return false;
	klen = strlen(key);
	mklen = memcached_key(key, klen, mkey);
	mc = take(rc);
	if (!mc)
		goto miss;
	v = (unsigned char *)memcached_get(mc, mkey, mklen, &vlen, &flags, &ret);
	if (ret != MEMCACHED_SUCCESS && ret != MEMCACHED_NOTFOUND)
		failure(rc, "get", mc, ret);
	memcached_pool_release(rc->pool, mc);
	if (!v || ret != MEMCACHED_SUCCESS)
		goto miss;

	/* Check everything before touching body: anything odd is a miss. */
	if (flags != TS_FLAGS || vlen < TS_HEADER || memcmp(v, TS_MAGIC, 4) != 0 || v[5] != 0)
		goto miss;
	ctlen = v[4];
	vklen = (size_t)v[6] << 8 | v[7];
	blen = be32(v + 8);
	if (!ts_add_size(TS_HEADER + ctlen, vklen, &want) || !ts_add_size(want, blen, &want) ||
	    want != vlen)
		goto miss;
	ct = v + TS_HEADER;
	vkey = ct + ctlen;
	data = vkey + vklen;
	if (vklen != klen || memcmp(vkey, key, klen) != 0)
		goto miss;   /* a colliding hashed key, or another writer */
	if (!type_ok((const char *)ct, ctlen) || ctlen >= ct_size)
		goto miss;
	ts_buf_clear(body);
	if (!ts_buf_append(body, data, blen))
		goto miss;
	memcpy(content_type, ct, ctlen);
	content_type[ctlen] = '\0';
	free(v);
	atomic_fetch_add(&rc->hits, 1);
	return true;
miss:
	free(v);
	atomic_fetch_add(&rc->misses, 1);
	return false;
}

void ts_remote_cache_put(struct ts_remote_cache *rc, const char *key, const void *data,
                         size_t len, const char *content_type, uint32_t ttl_seconds)
{
	char mkey[MEMCACHED_MAX_KEY];
	size_t klen, ctlen, total, mklen;
	unsigned char *v = NULL, *p;
	memcached_return_t ret;
	memcached_st *mc;

	if (!rc || !content_type)
		return;
	klen = strlen(key);
	ctlen = strlen(content_type);
	if (!type_ok(content_type, ctlen) || klen > 0xffff || len > UINT32_MAX)
		return;
	if (!ts_add_size(TS_HEADER + ctlen, klen, &total) || !ts_add_size(total, len, &total) ||
	    total > TS_REMOTE_CACHE_MAX_VALUE)
		return;
	v = malloc(total);
	if (!v)
		return;
	memcpy(v, TS_MAGIC, 4);
	v[4] = (unsigned char)ctlen;
	v[5] = 0;
	v[6] = (unsigned char)(klen >> 8);
	v[7] = (unsigned char)klen;
	v[8] = (unsigned char)(len >> 24);
	v[9] = (unsigned char)(len >> 16);
	v[10] = (unsigned char)(len >> 8);
	v[11] = (unsigned char)len;
	p = v + TS_HEADER;
	memcpy(p, content_type, ctlen);
	memcpy(p + ctlen, key, klen);
	if (len)
		memcpy(p + ctlen + klen, data, len);
	mklen = memcached_key(key, klen, mkey);
	mc = take(rc);
	if (!mc)
		goto done;
	ret = memcached_set(mc, mkey, mklen, (const char *)v, total,
	                    (time_t)(ttl_seconds ? ttl_seconds : TS_REMOTE_CACHE_TTL), TS_FLAGS);
	if (ret != MEMCACHED_SUCCESS)
		failure(rc, "set", mc, ret);
	memcached_pool_release(rc->pool, mc);
done:
	free(v);
}

void ts_remote_cache_stats(struct ts_remote_cache *rc, uint64_t *hits, uint64_t *misses,
                           uint64_t *errors)
{
	if (hits)
		*hits = rc ? atomic_load(&rc->hits) : 0;
	if (misses)
		*misses = rc ? atomic_load(&rc->misses) : 0;
	if (errors)
		*errors = rc ? atomic_load(&rc->errors) : 0;
}

/* ---------------------------------------------------------------- types */

#define TS_TYPES 64

static pthread_mutex_t types_lock = PTHREAD_MUTEX_INITIALIZER;
static char types[TS_TYPES][TS_CT_MAX + 1];
static int ntypes;

const char *ts_remote_cache_intern_type(const char *content_type)
{
	const char *found = NULL;
	size_t n;
	int i;

	if (!content_type)
		return NULL;
	n = strlen(content_type);
	if (n == 0 || n > TS_CT_MAX)
		return NULL;
	/* A handful of types in practice: a linear scan under one lock. */
	pthread_mutex_lock(&types_lock);
	for (i = 0; i < ntypes && !found; i++)
		if (strcmp(types[i], content_type) == 0)
			found = types[i];
	if (!found && ntypes < TS_TYPES) {
		memcpy(types[ntypes], content_type, n + 1);
		found = types[ntypes++];
	}
	pthread_mutex_unlock(&types_lock);
	return found;
}
