/*
 * net_helpers.h — a tiny loopback HTTP/1.1 client for the tests' control paths (the test
 * server's /__stats and friends), shared by http/http_helpers.h and persist_helpers.h.
 * Header-only, every function static and marked unused, on top of harness.h.
 *
 *   tcp_connect_loopback(port)                 a connected TCP socket to 127.0.0.1, or -1
 *   send_all(fd, data, len)                    0 once every byte is sent, -1 on an error
 *   http_get_raw(port, target, &status, &len)  GET with Connection: close; the body
 */
#ifndef BGCOPY_C_TESTS_NET_HELPERS_H
#define BGCOPY_C_TESTS_NET_HELPERS_H

#include "harness.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

static HARNESS_UNUSED int tcp_connect_loopback(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static HARNESS_UNUSED int send_all(int fd, const void *data, size_t len)
{
    const char *p = (const char *)data;
    while (len > 0) {
        ssize_t w = send(fd, p, len, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

/* GET `target` from 127.0.0.1:port with Connection: close. Returns the body (malloc'd,
 * NUL-terminated; *out_len its length, out_len may be NULL) and the status in *out_status, or
 * NULL on failure. */
static HARNESS_UNUSED char *http_get_raw(int port, const char *target, int *out_status,
                                         size_t *out_len)
{
    int fd = tcp_connect_loopback(port);
    if (fd < 0) return NULL;
    char req[2048];
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n\r\n",
                     target, port);
    if (n < 0 || (size_t)n >= sizeof req || send_all(fd, req, (size_t)n) != 0) {
        close(fd);
        return NULL;
    }
    size_t len = 0;
    char *buf = read_fd_all(fd, &len);
    close(fd);
    if (buf == NULL) return NULL;
    char *sep = strstr(buf, "\r\n\r\n");
    int status = 0;
    if (sep == NULL || sscanf(buf, "HTTP/1.%*d %d", &status) != 1) {
        free(buf);
        return NULL;
    }
    size_t body_len = len - (size_t)(sep + 4 - buf);
    memmove(buf, sep + 4, body_len + 1);
    if (out_status) *out_status = status;
    if (out_len) *out_len = body_len;
    return buf;
}

#endif
