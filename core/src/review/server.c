/*
 * server.c — `loupe review`'s HTTP server (libmicrohttpd, a pool of 4 threads) and its guards:
 *
 *   - a Host that is not this server's loopback name (127.0.0.1, localhost, [::1] with the
 *     port; or the --host address) is 403: a DNS-rebinding page cannot talk to it;
 *   - every request needs the token: the cookie the first page sets (GET /?token=T, compared
 *     in constant time, then a redirect to a URL without it) or the X-Loupe-Token header;
 *   - a POST needs Content-Type application/json, the X-Loupe-Token header and an Origin equal
 *     to the server's own; bodies over 64 KiB are 413; only GET and POST exist;
 *   - no path from a request reaches the file system: the routes are fixed strings, images
 *     are addressed by content hash; a URL with "..", "//", a backslash or a control byte is
 *     refused as a bad path, and so is one whose decoded or raw URI holds a NUL (a raw NUL
 *     would cut the URI before libmicrohttpd hands it over: uri_seen catches it);
 *   - every answer carries a Content-Security-Policy without 'unsafe-inline', nosniff and
 *     no-referrer; API answers are no-store, thumbnails immutable; no CORS header is ever sent.
 * Each refusal is counted by reason (GET /api/stats).
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <microhttpd.h>

#include "loupe/annotations.h"
#include "review_int.h"

extern const unsigned char lpv_asset_index_html[], lpv_asset_app_js[], lpv_asset_app_css[];
extern const size_t lpv_asset_index_html_len, lpv_asset_app_js_len, lpv_asset_app_css_len;

#define MAX_BODY 65536

typedef struct request {
	char *body;
	size_t n;
	int too_large, started, hidden; /* hidden: a raw NUL inside the request's URI */
} request;

static int answer(struct MHD_Connection *c, int status, const char *type, const void *data,
		  size_t n, const char *cache)
{
	struct MHD_Response *res =
		MHD_create_response_from_buffer(n, (void *)data, MHD_RESPMEM_MUST_COPY);
	if (!res)
		return MHD_NO;
	MHD_add_response_header(res, "Content-Type", type);
	MHD_add_response_header(res, "Content-Security-Policy",
				"default-src 'self'; img-src 'self'; frame-ancestors 'none'");
	MHD_add_response_header(res, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(res, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(res, "Cache-Control", cache ? cache : "no-store");
	int rc = MHD_queue_response(c, (unsigned)status, res);
	MHD_destroy_response(res);
	return rc;
}

static int refuse(struct MHD_Connection *c, uint64_t *counter, int status, const char *why)
{
	__atomic_add_fetch(counter, 1, __ATOMIC_RELAXED);
	return answer(c, status, "text/plain; charset=utf-8", why, strlen(why), NULL);
}

/* constant-time comparison of a candidate with the token */
static int token_ok(const lp_review *r, const char *t)
{
	size_t n = strlen(r->token);
	unsigned diff = t ? (unsigned)(strlen(t) ^ n) : 1;
	for (size_t i = 0; t && i < n; i++)
		diff |= (unsigned)(t[i < strlen(t) ? i : 0] ^ r->token[i]);
	return t && diff == 0;
}

static int host_index(const lp_review *r, const char *host)
{
	for (int i = 0; host && i < r->n_origin; i++)
		if (strcmp(host, r->origin[i]) == 0)
			return i;
	return -1;
}

static int bad_path(const char *url)
{
	if (url[0] != '/' || strstr(url, "..") || strstr(url, "//") || strchr(url, '\\'))
		return 1;
	for (const unsigned char *p = (const unsigned char *)url; *p; p++)
		if (*p < 0x20 || *p == 0x7f || *p == '%')
			return 1;
	return 0;
}

static int serve_index(lp_review *r, struct MHD_Connection *c)
{
	const char *src = (const char *)lpv_asset_index_html, *at = strstr(src, "{{TOKEN}}");
	size_t n = lpv_asset_index_html_len, cut = at ? (size_t)(at - src) : n;
	char *page = malloc(n + sizeof r->token);
	if (!page)
		return answer(c, 500, "text/plain", "out of memory", 13, NULL);
	memcpy(page, src, cut);
	size_t len = cut;
	if (at) {
		memcpy(page + len, r->token, strlen(r->token));
		len += strlen(r->token);
		memcpy(page + len, at + 9, n - cut - 9);
		len += n - cut - 9;
	}
	int rc = answer(c, 200, "text/html; charset=utf-8", page, len, NULL);
	free(page);
	return rc;
}

static int login(lp_review *r, struct MHD_Connection *c)
{
	char cookie[96];
	struct MHD_Response *res = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
	if (!res)
		return MHD_NO;
	snprintf(cookie, sizeof cookie, "loupe_token=%s; HttpOnly; SameSite=Strict; Path=/",
		 r->token);
	MHD_add_response_header(res, "Set-Cookie", cookie);
	MHD_add_response_header(res, "Location", "/");
	MHD_add_response_header(res, "Cache-Control", "no-store");
	MHD_add_response_header(res, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(res, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(res, "Content-Security-Policy",
				"default-src 'self'; img-src 'self'; frame-ancestors 'none'");
	int rc = MHD_queue_response(c, 303, res);
	MHD_destroy_response(res);
	return rc;
}

static int serve_thumb(lp_review *r, struct MHD_Connection *c, const char *url)
{
	char hash[17];
	int size = 0, end = 0;
	const uint8_t *data;
	size_t n;
	char why[512];

	if (strlen(url) > 40 || sscanf(url, "/t/%16[0-9a-f]-%d.jpg%n", hash, &size, &end) != 2 ||
	    url[end] || strlen(hash) != 16 || (size != 160 && size != 512))
		return refuse(c, &r->c.not_found, 404, "no such thumbnail");
	int64_t i = lpv_model_by_hash(&r->m, hash);
	if (i < 0)
		return refuse(c, &r->c.not_found, 404, "no such thumbnail");
	if (lpv_thumb(r, (size_t)i, size == 512, &data, &n, why, sizeof why))
		return answer(c, 404, "text/plain; charset=utf-8", why, strlen(why), NULL);
	return answer(c, 200, "image/jpeg", data, n, "public, max-age=31536000, immutable");
}

static int serve_api(lp_review *r, struct MHD_Connection *c, const char *url,
		     const char *method, const request *q)
{
	char *out = NULL;
	const char *end = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "end");

	pthread_mutex_lock(&r->lock);
	int status = lpv_api(r, method, url, end && strcmp(end, "1") == 0, q ? q->body : NULL,
			     q ? q->n : 0, &out);
	pthread_mutex_unlock(&r->lock);
	if (status == 400)
		__atomic_add_fetch(&r->c.bad_request, 1, __ATOMIC_RELAXED);
	int rc = answer(c, status, "application/json", out ? out : "{}", out ? strlen(out) : 2,
			NULL);
	free(out);
	return rc;
}

/* the checks every request passes before it is routed; MHD_YES/NO when it was answered */
static int guard(lp_review *r, struct MHD_Connection *c, const char *url, const char *method,
		 int *answered)
{
	const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host");
	const char *cookie = MHD_lookup_connection_value(c, MHD_COOKIE_KIND, "loupe_token");
	const char *header = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Loupe-Token");
	const char *query = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "token");
	int post = strcmp(method, "POST") == 0, h = host_index(r, host);

	*answered = 1;
	if (h < 0)
		return refuse(c, &r->c.bad_host, 403, "this server answers only to its own address");
	if (bad_path(url))
		return refuse(c, &r->c.bad_path, 400, "bad path");
	if (!post && strcmp(method, "GET") != 0)
		return refuse(c, &r->c.bad_method, 405, "GET and POST only");
	if (!post && strcmp(url, "/") == 0 && query)
		return token_ok(r, query) ? login(r, c)
					  : refuse(c, &r->c.bad_token, 403, "wrong token");
	if (!cookie && !header)
		return refuse(c, &r->c.no_token, 403, "no token: open the URL loupe review printed");
	if (!token_ok(r, header ? header : cookie) || (header && cookie && !token_ok(r, cookie)))
		return refuse(c, &r->c.bad_token, 403, "wrong token");
	if (post) {
		char want[128];
		const char *origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
		const char *type = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
		snprintf(want, sizeof want, "http://%s", host);
		if (!header || !origin || strcmp(origin, want) != 0 ||
		    !type || strncmp(type, "application/json", 16) != 0 ||
		    (type[16] && type[16] != ';' && type[16] != ' '))
			return refuse(c, &r->c.bad_origin, 403,
				      "a POST needs the token header, JSON and this origin");
	}
	*answered = 0;
	return MHD_YES;
}

static int route(lp_review *r, struct MHD_Connection *c, const char *url, const char *method,
		 const request *q)
{
	if (strncmp(url, "/api/", 5) == 0)
		return serve_api(r, c, url, method, q);
	if (strcmp(method, "GET") != 0)
		return refuse(c, &r->c.bad_method, 405, "GET only here");
	if (strcmp(url, "/") == 0)
		return serve_index(r, c);
	if (strcmp(url, "/app.js") == 0)
		return answer(c, 200, "text/javascript; charset=utf-8", lpv_asset_app_js,
			      lpv_asset_app_js_len, "no-cache");
	if (strcmp(url, "/app.css") == 0)
		return answer(c, 200, "text/css; charset=utf-8", lpv_asset_app_css,
			      lpv_asset_app_css_len, "no-cache");
	if (strcmp(url, "/favicon.ico") == 0)
		return answer(c, 204, "image/x-icon", "", 0, "max-age=86400");
	if (strncmp(url, "/t/", 3) == 0)
		return serve_thumb(r, c, url);
	return refuse(c, &r->c.not_found, 404, "not found");
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
			       const char *method, const char *version, const char *data,
			       size_t *size, void **con)
{
	lp_review *r = cls;
	request *q = *con;
	int answered;
	(void)version;

	if (!q || !q->started) { /* first call: headers only */
		__atomic_add_fetch(&r->c.requests, 1, __ATOMIC_RELAXED);
		if (q && q->hidden)
			return refuse(c, &r->c.bad_path, 400, "bad path") == MHD_YES ? MHD_YES : MHD_NO;
		int rc = guard(r, c, url, method, &answered);
		if (answered)
			return rc == MHD_YES ? MHD_YES : MHD_NO;
		if (!q && !(q = calloc(1, sizeof *q)))
			return MHD_NO;
		q->started = 1;
		*con = q;
		return MHD_YES;
	}
	if (*size) { /* a piece of the body */
		if (q->n + *size > MAX_BODY) {
			q->too_large = 1;
		} else {
			char *b = realloc(q->body, q->n + *size + 1);
			if (!b)
				return MHD_NO;
			memcpy(b + q->n, data, *size);
			q->body = b;
			q->n += *size;
		}
		*size = 0;
		return MHD_YES;
	}
	if (q->too_large)
		return refuse(c, &r->c.too_large, 413, "request body over 64 KiB") == MHD_YES
			       ? MHD_YES : MHD_NO;
	return route(r, c, url, method, q) == MHD_YES ? MHD_YES : MHD_NO;
}

static void completed(void *cls, struct MHD_Connection *c, void **con,
		      enum MHD_RequestTerminationCode why)
{
	request *q = *con;
	(void)cls, (void)c, (void)why;
	if (q) {
		free(q->body);
		free(q);
		*con = NULL;
	}
}

/* percent-decoding that keeps a decoded NUL visible: as 0x7f, which bad_path refuses (the
 * default would cut the URL there, and what follows a %00 would never be checked) */
static size_t unescape(void *cls, struct MHD_Connection *c, char *uri)
{
	(void)cls, (void)c;
	size_t n = MHD_http_unescape(uri);
	for (size_t i = 0; i < n; i++)
		if (uri[i] == 0)
			uri[i] = 0x7f;
	return n;
}

/* Called with the raw URI, cut where the request line's space was: the version ("HTTP/")
 * follows that NUL at once, unless a raw NUL inside the URI cut it earlier, hiding the rest
 * of the path from every later check: then the request is marked, and refused. */
static void *uri_seen(void *cls, const char *uri, struct MHD_Connection *c)
{
	request *q = calloc(1, sizeof *q);
	(void)cls, (void)c;
	if (q)
		q->hidden = strncmp(uri + strlen(uri) + 1, "HTTP/", 5) != 0;
	return q;
}

/* serve on host:port (port 0: a free one); r->port gets the port bound */
int lpv_serve(lp_review *r, const char *host, int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };

	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		return lp_error(r->ctx, LP_ERR_ARG, "review: --host %s is not an IPv4 address",
				host);
	struct MHD_Daemon *d = MHD_start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, 0, NULL, NULL, handler, r,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_THREAD_POOL_SIZE, 4u,
		MHD_OPTION_CONNECTION_LIMIT, 64u, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
		(size_t)131072, MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_NOTIFY_COMPLETED,
		completed, r, MHD_OPTION_UNESCAPE_CALLBACK, unescape, r,
		MHD_OPTION_URI_LOG_CALLBACK, uri_seen, r, MHD_OPTION_END);
	if (!d)
		return lp_error(r->ctx, LP_ERR_IO, "review: cannot serve on %s:%d (in use?)", host,
				port);
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	r->port = info ? info->port : port;
	r->daemon = d;
	return 0;
}

void lpv_unserve(lp_review *r)
{
	if (r->daemon)
		MHD_stop_daemon(r->daemon);
	r->daemon = NULL;
}
