/* secret.h: what swath treats as a secret, and how it keeps secrets out of
 * everything it writes and logs (user docs: docs/sources.md, "Secrets").
 *
 * Secrets are:
 *  - the value of a URL query parameter (or of any "name=value" after '?',
 *    '&', ';', white space or a quote, which is how a URL's query shows up
 *    in messages and XML) whose name, ASCII case-insensitively, is one of
 *    sig, auth, authorization, passwd, pwd, app_code, or ends in key, token,
 *    secret, password, signature or credential, or starts with x-amz- or
 *    x-goog- (signed URLs: their dates and signatures change with each
 *    signing); so key, apikey, api_key, api-key, access_token, X-Amz-*;
 *  - the password in a URL's user information ("https://user:pw@host/");
 *  - in a job file, every value under a `headers:` mapping and the value of
 *    any mapping key that is a secret parameter name (a WMS `params:`
 *    entry such as `apikey: ...`).
 *
 * Redacting replaces each secret value by SWATH_REDACTED and leaves the rest
 * of the text byte for byte as it was: a text without secrets comes back
 * unchanged, so hashes taken over redacted text (cache folders, job keys)
 * are those of before for sources without secrets, and do not change when a
 * key is rotated. Where swath needs the secret again (a URL it rebuilds
 * from a redacted capabilities document or a failure list), it takes it
 * from the job (swath_secrets_restore). */
#ifndef SWATH_CORE_SECRET_H
#define SWATH_CORE_SECRET_H

#include <stddef.h>

#include "core/config.h"

/* What stands for a secret wherever swath writes one: letters only, so it is
 * valid inside a URL and as a plain YAML scalar. */
#define SWATH_REDACTED "REDACTED"

/* Is a query parameter called `name` (len bytes) secret? */
int swath_secret_param(const char *name, size_t len);

/* Copy `in` with its secrets redacted into `out` (cap bytes, always
 * NUL-terminated when cap > 0; cut short if it does not fit). Returns the
 * length of the whole redacted text, as snprintf does (so out NULL, cap 0
 * measures). */
size_t swath_redact(const char *in, char *out, size_t cap);

/* The redacted text in a new buffer (caller frees); NULL if out of memory
 * or in is NULL. */
char *swath_redact_dup(const char *in);

/* A job file's text with its secrets redacted (see above), everything else
 * (comments, layout, key order) as it was, and still the same YAML apart
 * from the redacted values. Caller frees. NULL if out of memory; a text
 * libyaml cannot parse is redacted as plain text. */
char *swath_redact_yaml(const char *text);

/* Secret parameters a job gives, by name, to put back into URLs. */
typedef struct swath_secrets {
  size_t n;
  char **names;
  char **values;
} swath_secrets;

/* Collect the secrets of a config subtree (an input's mapping): secret
 * parameters in its string values (URLs), and values of keys that are
 * secret parameter names. `headers:` values are not parameters and are
 * left out. 0 or SWATH_ENOMEM. */
int swath_secrets_collect(const swath_cfg *c, swath_secrets *out);
void swath_secrets_free(swath_secrets *s);

/* `url` with each secret parameter whose value is SWATH_REDACTED given the
 * value of the same name (case-insensitive) from `s`, into *out (caller
 * frees). A URL without redacted values is copied as it is. SWATH_EINVAL
 * naming the parameter when `s` has no value for it; SWATH_ENOMEM. */
int swath_secrets_restore(const swath_secrets *s, const char *url, char **out);

#endif
