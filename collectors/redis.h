/* Redis, checked over plain TCP with the RESP protocol (https://redis.io/docs/reference/
 * protocol-spec/): optional AUTH, PING expecting +PONG, INFO server for the version. */
#ifndef HM_COLLECTORS_REDIS_H
#define HM_COLLECTORS_REDIS_H

#include <stddef.h>
#include <sys/types.h>

enum resp_type {
    RESP_SIMPLE,  /* +OK */
    RESP_ERROR,   /* -ERR ... */
    RESP_INTEGER, /* :1 */
    RESP_BULK,    /* $3\r\nabc */
    RESP_NIL,     /* $-1 */
};

typedef struct resp_reply {
    enum resp_type type;
    const char *str; /* points into the buffer: the line without its type byte, or bulk data */
    size_t len;
    long long num;   /* RESP_INTEGER */
} resp_reply;

/* Parses the first reply in buf[0..len). Returns the bytes it spans (> 0), 0 when buf holds
 * only part of a reply (read more), or -1 when it is not a RESP reply hmctl expects (arrays
 * included, which PING, AUTH and INFO never send). */
ssize_t resp_parse(const char *buf, size_t len, resp_reply *r);

/* The value of "key:value" in an INFO answer ("redis_version" -> "7.0.15"). Returns a new
 * string or NULL. */
char *redis_info_field(const char *info, size_t len, const char *key);

#endif
