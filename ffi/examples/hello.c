/* A C host of the nanoapi C ABI: answers GET / (and GET /plaintext, as benches/python.sh asks)
 * with "Hello, World!" and anything else with a 404, until SIGINT or SIGTERM.
 *
 * Build against an installed library (ffi/Makefile, `make install PREFIX=...`):
 *
 *     cc -o hello ffi/examples/hello.c $(pkg-config --cflags --libs nanoapi)
 *     ./hello 8080          # prints "PORT 8080"; port 0 lets the kernel choose
 *     ./hello 8080 inline   # the same, with the callback run inline on the workers
 *
 * By default the dispatch callback runs on the library's dispatch threads, several at once,
 * and may block. With "inline" it runs on the runtime's worker threads themselves (no hand-off
 * to another thread): it must not block, which this one does not. It touches no shared state,
 * so it needs no lock in either mode. */

#include <nanoapi.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A nanoapi_str over a NUL-terminated literal (the library never reads the NUL). */
static nanoapi_str str(const char *text) {
    nanoapi_str s = {text, strlen(text)};
    return s;
}

static int equals(nanoapi_str s, const char *text) {
    return s.len == strlen(text) && memcmp(s.ptr, text, s.len) == 0;
}

/* Called once per request; `req` and `w` are valid until it returns. */
static int dispatch(void *ctx, const nanoapi_request *req, nanoapi_writer *w) {
    (void)ctx;
    nanoapi_str path = nanoapi_request_path(req);
    if (equals(nanoapi_request_method(req), "GET") &&
        (equals(path, "/") || equals(path, "/plaintext"))) {
        return nanoapi_writer_send(w, 200, str("text/plain"), NULL, 0, str("Hello, World!"));
    }
    return nanoapi_writer_send(w, 404, str("text/plain"), NULL, 0, str("Not Found"));
}

/* Prints the message of the last failed call on this thread and returns 1. */
static int fail(const char *what) {
    nanoapi_str message = nanoapi_last_error();
    fprintf(stderr, "%s: %.*s\n", what, (int)message.len, message.ptr ? message.ptr : "");
    return 1;
}

int main(int argc, char **argv) {
    nanoapi_options options;
    nanoapi_server *server = NULL;

    if (nanoapi_options_init(&options) != NANOAPI_OK) {
        return fail("nanoapi_options_init");
    }
    options.port = (uint16_t)(argc > 1 ? atoi(argv[1]) : 8080);
    /* SIGINT and SIGTERM make nanoapi_server_run return after draining. */
    options.handle_signals = 1;

    if (nanoapi_server_new(&options, &server) != NANOAPI_OK) {
        return fail("nanoapi_server_new");
    }
    int inline_mode = argc > 2 && strcmp(argv[2], "inline") == 0;
    int set = inline_mode ? nanoapi_server_set_dispatch_inline(server, dispatch, NULL)
                          : nanoapi_server_set_dispatch(server, dispatch, NULL);
    if (set != NANOAPI_OK) {
        nanoapi_server_free(server);
        return fail("nanoapi_server_set_dispatch");
    }
    if (nanoapi_server_start(server) != NANOAPI_OK) {
        nanoapi_server_free(server);
        return fail("nanoapi_server_start");
    }
    printf("PORT %u\n", (unsigned)nanoapi_server_port(server));
    fflush(stdout);

    int rc = nanoapi_server_run(server) == NANOAPI_OK ? 0 : fail("nanoapi_server_run");
    nanoapi_server_free(server);
    return rc;
}
