/* ratelimit.h: a token bucket per client (an API key's name, or an
 * address), for the HTTP server's --rate-limit.
 *
 * Each client has `burst` tokens at most, refilled at `rate` per second;
 * a request takes one. Buckets of clients that have been quiet long enough
 * to be full again are dropped when the table grows, so memory is bounded
 * by the clients active in the last burst/rate seconds. Thread-safe. */
#ifndef SWATH_SERVER_RATELIMIT_H
#define SWATH_SERVER_RATELIMIT_H

typedef struct swath_ratelimit swath_ratelimit;

/* "N", "N/s", "N/m" (per minute), each optionally ",BURST" (default: N
 * per second, at least 1): the rate per second and the burst. */
int swath_ratelimit_parse(const char *spec, double *rate, double *burst);
int swath_ratelimit_new(double rate, double burst, swath_ratelimit **out);
void swath_ratelimit_free(swath_ratelimit *r);
/* Take a token for `who` at time `now` (seconds, monotonic): 0 when
 * allowed, else the whole seconds until a token is there (>= 1). */
int swath_ratelimit_take(swath_ratelimit *r, const char *who, double now);

#endif
