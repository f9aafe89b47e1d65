/* The parity app (parity/README.md) as a C host of the nanoapi C ABI: the parity suite's
 * C consumer. Prints "PORT <n>", serves until SIGTERM or SIGINT, drains, exits 0.
 *
 *     cargo build -p nanoapi-ffi
 *     cc -I ffi/include -o parity-c examples/ffi_c/parity.c target/debug/libnanoapi_ffi.a \
 *         -lpthread -ldl -lm -lgcc_s -lrt
 *     NANOAPI_BACKEND=poll ./parity-c
 *
 * Environment: NANOAPI_PORT (default 0: any free port), NANOAPI_BACKEND (uring, poll, auto).
 * The callback runs on the library's dispatch threads (pool mode): /stream waits there for
 * its /release, which another dispatch thread serves. */

#include <nanoapi.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TEXT "text/plain; charset=utf-8"

static nanoapi_str str(const char *text) {
    nanoapi_str s = {text, strlen(text)};
    return s;
}

static int equals(nanoapi_str s, const char *text) {
    return s.len == strlen(text) && memcmp(s.ptr, text, s.len) == 0;
}

/* ---- /stream and /release: the ids released so far, behind one lock ---- */

#define MAX_RELEASED 256
#define MAX_ID 64

static pthread_mutex_t released_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t released_cond = PTHREAD_COND_INITIALIZER;
static char released[MAX_RELEASED][MAX_ID];
static size_t n_released;

/* The value of `id` in the query of `req` (empty if absent), into `out`. */
static void query_id(const nanoapi_request *req, char out[MAX_ID]) {
    nanoapi_str query = nanoapi_request_query(req);
    out[0] = '\0';
    size_t i = 0;
    while (i < query.len) {
        size_t end = i;
        while (end < query.len && query.ptr[end] != '&') {
            end++;
        }
        if (end - i > 3 && memcmp(query.ptr + i, "id=", 3) == 0) {
            size_t len = end - i - 3 < MAX_ID - 1 ? end - i - 3 : MAX_ID - 1;
            memcpy(out, query.ptr + i + 3, len);
            out[len] = '\0';
            return;
        }
        i = end + 1;
    }
}

static int is_released(const char *id) {
    for (size_t i = 0; i < n_released; i++) {
        if (strcmp(released[i], id) == 0) {
            return 1;
        }
    }
    return 0;
}

static void release(const char *id) {
    pthread_mutex_lock(&released_lock);
    if (!is_released(id) && n_released < MAX_RELEASED) {
        strcpy(released[n_released++], id);
    }
    pthread_cond_broadcast(&released_cond);
    pthread_mutex_unlock(&released_lock);
}

/* Waits (at most 10 s) until `id` is released; 1 if it was. */
static int wait_released(const char *id) {
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 10;
    pthread_mutex_lock(&released_lock);
    int rc = 0;
    while (!is_released(id) && rc != ETIMEDOUT) {
        rc = pthread_cond_timedwait(&released_cond, &released_lock, &deadline);
    }
    int done = is_released(id);
    pthread_mutex_unlock(&released_lock);
    return done;
}

/* ---- the routes ---- */

static int send_text(nanoapi_writer *w, uint16_t status, const char *body) {
    return nanoapi_writer_send(w, status, str(TEXT), NULL, 0, str(body));
}

static int headers_route(nanoapi_writer *w) {
    char csp[1024] = "default-src 'self'";
    for (int i = 0; i < 20; i++) {
        size_t used = strlen(csp);
        snprintf(csp + used, sizeof csp - used, "; img-src https://cdn%d.example.com", i);
    }
    nanoapi_header fields[] = {
        {str("X-Extra"), str("yes")},
        {str("Set-Cookie"), str("a=1; Path=/")},
        {str("Set-Cookie"), str("b=2; Path=/")},
        {str("Content-Security-Policy"), str(csp)},
    };
    return nanoapi_writer_send(w, 200, str(TEXT), fields, 4, str("headers"));
}

static int chunked_route(nanoapi_writer *w) {
    nanoapi_header cookies[] = {{str("Set-Cookie"), str("s=1")}, {str("Set-Cookie"), str("t=2")}};
    int rc = nanoapi_writer_start_chunked(w, 200, str(TEXT), cookies, 2);
    const char *parts[] = {"one", "two", "three"};
    for (int i = 0; rc == NANOAPI_OK && i < 3; i++) {
        rc = nanoapi_writer_write_chunk(w, str(parts[i]));
    }
    return rc == NANOAPI_OK ? nanoapi_writer_end_chunked(w) : rc;
}

static int stream_route(const nanoapi_request *req, nanoapi_writer *w) {
    char id[MAX_ID];
    query_id(req, id);
    int rc = nanoapi_writer_start_chunked(w, 200, str(TEXT), NULL, 0);
    if (rc == NANOAPI_OK) {
        rc = nanoapi_writer_write_chunk(w, str("first\n"));
    }
    if (rc == NANOAPI_OK) {
        /* The rest comes only once /release?id=<id> was requested: a client that sees
         * "first" before releasing proves the chunk was not held back. */
        rc = nanoapi_writer_write_chunk(w, str(wait_released(id) ? "second\n" : "timeout\n"));
    }
    if (rc == NANOAPI_OK) {
        rc = nanoapi_writer_write_chunk(w, str("third\n"));
    }
    return rc == NANOAPI_OK ? nanoapi_writer_end_chunked(w) : rc;
}

static int dispatch(void *ctx, const nanoapi_request *req, nanoapi_writer *w) {
    (void)ctx;
    nanoapi_str path = nanoapi_request_path(req);
    if (equals(path, "/hello")) {
        return send_text(w, 200, "hello");
    }
    if (equals(path, "/echo")) {
        nanoapi_header method = {str("X-Method"), nanoapi_request_method(req)};
        return nanoapi_writer_send(w, 200, str("application/octet-stream"), &method, 1,
                                   nanoapi_request_body(req));
    }
    if (equals(path, "/headers")) {
        return headers_route(w);
    }
    if (equals(path, "/chunked")) {
        return chunked_route(w);
    }
    if (equals(path, "/stream")) {
        return stream_route(req, w);
    }
    if (equals(path, "/release")) {
        char id[MAX_ID];
        query_id(req, id);
        release(id);
        return send_text(w, 200, "released");
    }
    if (equals(path, "/nocontent")) {
        return nanoapi_writer_send(w, 204, str(""), NULL, 0, str(""));
    }
    if (equals(path, "/error")) {
        return 1; /* the handler fails: the runtime answers 500 */
    }
    return send_text(w, 404, "not found");
}

static int fail(const char *what) {
    nanoapi_str message = nanoapi_last_error();
    fprintf(stderr, "%s: %.*s\n", what, (int)message.len, message.ptr ? message.ptr : "");
    return 1;
}

int main(void) {
    nanoapi_options options;
    nanoapi_server *server = NULL;
    if (nanoapi_options_init(&options) != NANOAPI_OK) {
        return fail("nanoapi_options_init");
    }
    const char *port = getenv("NANOAPI_PORT");
    const char *backend = getenv("NANOAPI_BACKEND");
    options.port = (uint16_t)(port ? atoi(port) : 0);
    if (backend && strcmp(backend, "uring") == 0) {
        options.backend = NANOAPI_BACKEND_URING;
    } else if (backend && strcmp(backend, "poll") == 0) {
        options.backend = NANOAPI_BACKEND_POLL;
    }
    options.handle_signals = 1;
    if (nanoapi_server_new(&options, &server) != NANOAPI_OK) {
        return fail("nanoapi_server_new");
    }
    int ok = nanoapi_server_set_dispatch(server, dispatch, NULL) == NANOAPI_OK &&
             nanoapi_server_add_static(server, str("GET"), str("/static"), 200, str(TEXT), NULL,
                                       0, str("static")) == NANOAPI_OK &&
             nanoapi_server_start(server) == NANOAPI_OK;
    if (!ok) {
        int rc = fail("setting up the server");
        nanoapi_server_free(server);
        return rc;
    }
    printf("PORT %u\n", (unsigned)nanoapi_server_port(server));
    fflush(stdout);
    int rc = nanoapi_server_run(server) == NANOAPI_OK ? 0 : fail("nanoapi_server_run");
    nanoapi_server_free(server);
    return rc;
}
