/* fetch_validate.c: what a body must be before it is cached or handed to
 * a callback, as fetch.h states it: sniffing from the first bytes, the text
 * of an OGC exception document, swath_fetch_validate's checks (a PNG that
 * swath__png_check proves good; every other image decoded completely with
 * GDAL from /vsimem/; an XML document parsed whole), and the same checks
 * on a cached file (swath_fetch_check_file, SWATH_FETCH_VERIFY).
 *
 * Invariants: nothing here writes the cache or touches fetcher state; a
 * body is read within [body, body + len) only, never as a C string; the
 * verdict is SWATH_ETRANSIENT only where another attempt can help (an image
 * or document that looks cut short) and SWATH_EINVAL otherwise; GDAL's
 * messages are caught per call (a pushed handler) and the thread-local
 * option set for a decode is restored, so any thread may validate. */
#include "io/fetch_internal.h"

#include <errno.h>
#include <gdal.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cpl_conv.h>
#include <cpl_error.h>
#include <cpl_minixml.h>
#include <cpl_vsi.h>
#include <jansson.h>
#include <strings.h>

#include "core/error.h"
#include "core/log.h"
#include "io/png_check.h"

/* ---- sniffing ---- */

static int starts(const unsigned char *p, size_t n, const char *magic, size_t m) {
  return n >= m && memcmp(p, magic, m) == 0;
}

static int ieq_prefix(const unsigned char *p, const unsigned char *end, const char *word) {
  for (; *word; word++, p++) {
    if (p >= end) return 0;
    int c = *p;
    if (c >= 'A' && c <= 'Z') c += 'a' - 'A';
    if (c != *word) return 0;
  }
  return 1;
}

static int is_space(int c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

static const unsigned char *skip_ws(const unsigned char *p, const unsigned char *end) {
  while (p < end && is_space(*p))
    p++;
  return p;
}

static const unsigned char *find(const unsigned char *p, const unsigned char *end, const char *s) {
  size_t m = strlen(s);
  for (; p + m <= end; p++)
    if (memcmp(p, s, m) == 0) return p;
  return NULL;
}

/* The root element's local name (after any prefix), lower-cased, or "" if
 * the text does not start like markup. Sets *doctype_html for
 * "<!DOCTYPE html". */
static void root_element(const unsigned char *p, const unsigned char *end, char *name, size_t cap,
                         int *doctype_html) {
  name[0] = '\0';
  *doctype_html = 0;
  for (;;) {
    p = skip_ws(p, end);
    if (p >= end || *p != '<') return;
    if (starts(p, (size_t)(end - p), "<?", 2)) {
      const unsigned char *q = find(p, end, "?>");
      if (!q) return;
      p = q + 2;
    } else if (starts(p, (size_t)(end - p), "<!--", 4)) {
      const unsigned char *q = find(p, end, "-->");
      if (!q) return;
      p = q + 3;
    } else if (starts(p, (size_t)(end - p), "<!", 2)) {
      if (ieq_prefix(p, end, "<!doctype")) {
        const unsigned char *q = skip_ws(p + 9, end);
        if (ieq_prefix(q, end, "html")) *doctype_html = 1;
      }
      /* <!DOCTYPE root SYSTEM "..." [ <!ELEMENT ...> ]>: an internal
       * subset (WMS 1.1.1 capabilities have one) ends at "]>". */
      const unsigned char *q = p + 2;
      while (q < end && *q != '>' && *q != '[')
        q++;
      if (q < end && *q == '[') {
        q = find(q, end, "]");
        q = q ? memchr(q, '>', (size_t)(end - q)) : NULL;
      }
      if (!q || q >= end) return;
      p = q + 1;
    } else {
      p++;
      const unsigned char *start = p;
      while (p < end && !is_space(*p) && *p != '>' && *p != '/') {
        if (*p == ':') start = p + 1;
        p++;
      }
      size_t n = (size_t)(p - start);
      if (n >= cap) n = cap - 1;
      for (size_t i = 0; i < n; i++) {
        int c = start[i];
        name[i] = (char)(c >= 'A' && c <= 'Z' ? c + 'a' - 'A' : c);
      }
      name[n] = '\0';
      return;
    }
  }
}

swath_fetch_sniffed swath_fetch_sniff(const void *body, size_t len) {
  const unsigned char *p = body, *end = p + len;
  if (!body || len == 0) return SWATH_SNIFF_EMPTY;
  if (starts(p, len, "\x89PNG\r\n\x1a\n", 8)) return SWATH_SNIFF_PNG;
  if (starts(p, len, "\xff\xd8\xff", 3)) return SWATH_SNIFF_JPEG;
  if (len >= 12 && starts(p, len, "RIFF", 4) && memcmp(p + 8, "WEBP", 4) == 0)
    return SWATH_SNIFF_WEBP;
  if (starts(p, len, "II*\0", 4) || starts(p, len, "MM\0*", 4) || starts(p, len, "II+\0", 4) ||
      starts(p, len, "MM\0+", 4))
    return SWATH_SNIFF_GTIFF;
  if (starts(p, len, "GIF87a", 6) || starts(p, len, "GIF89a", 6)) return SWATH_SNIFF_GIF;
  if (starts(p, len, "\xef\xbb\xbf", 3)) p += 3; /* UTF-8 byte order mark */
  p = skip_ws(p, end);
  if (p >= end) return SWATH_SNIFF_EMPTY;
  /* The root element decides; a prolog, comments and a DOCTYPE may come
   * first. Looking at 64 KiB is plenty for any prolog. */
  const unsigned char *lim = end - p > 65536 ? p + 65536 : end;
  char root[64];
  int doctype_html;
  root_element(p, lim, root, sizeof root, &doctype_html);
  if (doctype_html || strcmp(root, "html") == 0 || strcmp(root, "head") == 0 ||
      strcmp(root, "body") == 0)
    return SWATH_SNIFF_HTML;
  if (strcmp(root, "serviceexceptionreport") == 0 || strcmp(root, "exceptionreport") == 0 ||
      strcmp(root, "serviceexception") == 0)
    return SWATH_SNIFF_OGC_EXCEPTION;
  if (root[0]) return SWATH_SNIFF_XML;
  if (*p == '<' && ieq_prefix(p, lim, "<html")) return SWATH_SNIFF_HTML;
  return SWATH_SNIFF_OTHER;
}

/* Find the start tag of the first element whose local name is `name`
 * (case-sensitive, as XML is). Returns a pointer just after the name. */
static const unsigned char *find_element(const unsigned char *p, const unsigned char *end,
                                         const char *name) {
  size_t m = strlen(name);
  for (; p < end; p++) {
    if (*p != '<' || p + 1 >= end || p[1] == '/' || p[1] == '!' || p[1] == '?') continue;
    const unsigned char *q = p + 1, *local = q;
    while (q < end && !is_space(*q) && *q != '>' && *q != '/') {
      if (*q == ':') local = q + 1;
      q++;
    }
    if ((size_t)(q - local) == m && memcmp(local, name, m) == 0) return q;
  }
  return NULL;
}

/* The value of attribute `attr` (local name) in the start tag beginning at
 * `p` (just after the element name). */
static size_t tag_attr(const unsigned char *p, const unsigned char *end, const char *attr,
                       char *buf, size_t cap) {
  const unsigned char *gt = memchr(p, '>', (size_t)(end - p));
  if (!gt) return 0;
  size_t m = strlen(attr);
  for (const unsigned char *q = p; q + m < gt; q++) {
    if (!is_space(q[-1]) && q[-1] != ':') continue;
    if (memcmp(q, attr, m) != 0) continue;
    const unsigned char *r = skip_ws(q + m, gt);
    if (r >= gt || *r != '=') continue;
    r = skip_ws(r + 1, gt);
    if (r >= gt || (*r != '"' && *r != '\'')) continue;
    unsigned char quote = *r++;
    const unsigned char *e = memchr(r, quote, (size_t)(gt - r));
    if (!e) return 0;
    size_t n = (size_t)(e - r);
    if (n >= cap) n = cap - 1;
    memcpy(buf, r, n);
    buf[n] = '\0';
    return n;
  }
  return 0;
}

/* Append the character data of [p, end) to buf: CDATA kept, markup dropped,
 * the five entities and numeric references decoded, white space collapsed. */
static size_t append_text(const unsigned char *p, const unsigned char *end, char *buf, size_t n,
                          size_t cap) {
  int pending_space = n > 0 && buf[n - 1] != ' ';
  while (p < end && n + 1 < cap) {
    const unsigned char *chunk_end = NULL;
    if (starts(p, (size_t)(end - p), "<![CDATA[", 9)) {
      const unsigned char *e = find(p + 9, end, "]]>");
      p += 9;
      chunk_end = e ? e : end;
    } else if (*p == '<') {
      const unsigned char *e = memchr(p, '>', (size_t)(end - p));
      p = e ? e + 1 : end;
      pending_space = n > 0 && buf[n - 1] != ' ';
      continue;
    }
    const unsigned char *stop = chunk_end ? chunk_end : end;
    while (p < stop && n + 1 < cap && (chunk_end || *p != '<')) {
      int c = *p++;
      if (!chunk_end && c == '&') {
        static const struct {
          const char *name;
          char c;
        } ents[] = {{"lt;", '<'}, {"gt;", '>'}, {"amp;", '&'}, {"quot;", '"'}, {"apos;", '\''}};
        int done = 0;
        for (size_t i = 0; i < sizeof ents / sizeof ents[0]; i++) {
          size_t m = strlen(ents[i].name);
          if ((size_t)(stop - p) >= m && memcmp(p, ents[i].name, m) == 0) {
            c = ents[i].c;
            p += m;
            done = 1;
            break;
          }
        }
        if (!done && p < stop && *p == '#') {
          /* Digits read up to `stop` only: the body is not NUL-terminated. */
          const unsigned char *q = p + 1;
          int hex = q < stop && (*q == 'x' || *q == 'X');
          const unsigned char *d = q + hex;
          long v = 0;
          for (; d < stop && d - q < 9; d++) {
            int x = *d >= '0' && *d <= '9'          ? *d - '0'
                    : hex && *d >= 'a' && *d <= 'f' ? *d - 'a' + 10
                    : hex && *d >= 'A' && *d <= 'F' ? *d - 'A' + 10
                                                    : -1;
            if (x < 0) break;
            v = v * (hex ? 16 : 10) + x;
          }
          if (d < stop && *d == ';' && v > 0) {
            c = v < 128 ? (int)v : '?';
            p = d + 1;
          }
        }
      }
      if (is_space(c)) {
        pending_space = n > 0 && buf[n - 1] != ' ';
        continue;
      }
      if (c < 32) c = ' ';
      if (pending_space && n + 2 < cap) buf[n++] = ' ';
      pending_space = 0;
      buf[n++] = (char)c;
    }
    if (chunk_end) p = chunk_end < end ? chunk_end + 3 : end;
  }
  buf[n] = '\0';
  return n;
}

size_t swath_fetch_exception_text(const void *body, size_t len, char *buf, size_t cap) {
  if (!buf || cap == 0) return 0;
  buf[0] = '\0';
  if (!body || len == 0) return 0;
  const unsigned char *p = body, *end = p + len;
  /* WMS: <ServiceException code="...">text</ServiceException>;
   * OWS (WMTS, WCS, ...): <ows:Exception exceptionCode=".." locator="..">
   *   <ows:ExceptionText>text</ows:ExceptionText></ows:Exception> */
  const unsigned char *el = find_element(p, end, "ServiceException");
  const char *close = "ServiceException>";
  if (!el) {
    el = find_element(p, end, "Exception");
    close = "Exception>";
  }
  if (!el) return 0;
  char code[128] = "", locator[128] = "";
  if (!tag_attr(el, end, "code", code, sizeof code))
    tag_attr(el, end, "exceptionCode", code, sizeof code);
  tag_attr(el, end, "locator", locator, sizeof locator);
  const unsigned char *gt = memchr(el, '>', (size_t)(end - el));
  const unsigned char *content = gt ? gt + 1 : end;
  if (gt && gt > el && gt[-1] == '/') content = end; /* <Exception .../> */
  const unsigned char *stop = content < end ? find(content, end, close) : NULL;
  if (stop) {
    while (stop > content && *stop != '<')
      stop--; /* back to "</" + prefix */
  } else {
    stop = end;
  }
  size_t n = 0;
  if (code[0])
    n = (size_t)snprintf(buf, cap, "%s%s%s%s: ", code, locator[0] ? " (" : "", locator,
                         locator[0] ? ")" : "");
  if (n >= cap) n = cap - 1;
  size_t before = n;
  if (content < stop) n = append_text(content, stop, buf, n, cap);
  if (n == before && n >= 2) n -= 2; /* no text: drop the ": " */
  buf[n] = '\0';
  return n;
}

/* ---- validation ---- */

struct gdal_errors {
  int count;
  char first[256];
};

static void CPL_STDCALL capture_errors(CPLErr cls, CPLErrorNum num, const char *msg) {
  (void)num;
  struct gdal_errors *e = CPLGetErrorHandlerUserData();
  if (cls < CE_Failure || !e) return;
  if (e->count++ == 0) snprintf(e->first, sizeof e->first, "%s", msg ? msg : "");
}

static const char *sniff_name(swath_fetch_sniffed s) {
  switch (s) {
  case SWATH_SNIFF_PNG:
    return "PNG";
  case SWATH_SNIFF_JPEG:
    return "JPEG";
  case SWATH_SNIFF_WEBP:
    return "WEBP";
  case SWATH_SNIFF_GTIFF:
    return "GTiff";
  case SWATH_SNIFF_GIF:
    return "GIF";
  default:
    return "?";
  }
}

static unsigned sniff_kind(swath_fetch_sniffed s) {
  switch (s) {
  case SWATH_SNIFF_PNG:
    return SWATH_FETCH_PNG;
  case SWATH_SNIFF_JPEG:
    return SWATH_FETCH_JPEG;
  case SWATH_SNIFF_WEBP:
    return SWATH_FETCH_WEBP;
  case SWATH_SNIFF_GTIFF:
    return SWATH_FETCH_GTIFF;
  default:
    return 0;
  }
}

static void kinds_text(unsigned kinds, char *buf, size_t cap) {
  static const char *const names[] = {"PNG", "JPEG", "WEBP", "GTiff", "XML"};
  size_t n = 0;
  buf[0] = '\0';
  for (int i = 0; i < 5; i++)
    if (kinds & (1u << i) && n < cap)
      n += (size_t)snprintf(buf + n, cap - n, "%s%s", n ? "/" : "", names[i]);
}

/* A short printable excerpt of a body for messages. */
static void excerpt(const void *body, size_t len, char *buf, size_t cap) {
  const unsigned char *p = body;
  size_t n = 0;
  for (size_t i = 0; i < len && n + 1 < cap && n < 60; i++) {
    unsigned char c = p[i];
    buf[n++] = (char)(c >= 32 && c < 127 && c != '"' ? c : (is_space(c) ? ' ' : '.'));
  }
  buf[n] = '\0';
}

static void html_title(const void *body, size_t len, char *buf, size_t cap) {
  buf[0] = '\0';
  const unsigned char *p = body, *end = p + (len > 65536 ? 65536 : len);
  for (; p + 7 <= end; p++)
    if (ieq_prefix(p, end, "<title")) {
      const unsigned char *gt = memchr(p, '>', (size_t)(end - p));
      if (!gt) return;
      const unsigned char *q = gt + 1, *e = q;
      while (e < end && *e != '<')
        e++;
      append_text(q, e, buf, 0, cap > 100 ? 100 : cap);
      return;
    }
}

static int decode_image(const void *body, size_t len, swath_fetch_sniffed kind, int expect_w,
                        int expect_h) {
  char name[96];
  snprintf(name, sizeof name, "/vsimem/swath-fetch-%lx-%p", (unsigned long)pthread_self(), body);
  VSILFILE *fp = VSIFileFromMemBuffer(name, (GByte *)body, (vsi_l_offset)len, FALSE);
  if (!fp) return swath_error_set(SWATH_EIO, "cannot map the body into /vsimem/");
  VSIFCloseL(fp);

  struct gdal_errors errs = {0};
  CPLPushErrorHandlerEx(capture_errors, &errs);
  /* libjpeg reports a cut-off stream as a warning and fills grey; here it
   * must count as the failure it is. Thread-local, restored below. */
  const char *old = CPLGetThreadLocalConfigOption("GDAL_ERROR_ON_LIBJPEG_WARNING", NULL);
  char *saved = old ? CPLStrdup(old) : NULL;
  CPLSetThreadLocalConfigOption("GDAL_ERROR_ON_LIBJPEG_WARNING", "YES");

  const char *drivers[] = {sniff_name(kind), NULL};
  int rc = 0;
  GDALDatasetH ds = GDALOpenEx(name, GDAL_OF_RASTER | GDAL_OF_READONLY, drivers, NULL, NULL);
  if (!ds) {
    rc = swath_error_set(SWATH_ETRANSIENT, "%s image does not decode (cut short?): %s",
                         sniff_name(kind), errs.count ? errs.first : "GDAL cannot open it");
    goto out;
  }
  int w = GDALGetRasterXSize(ds), h = GDALGetRasterYSize(ds), bands = GDALGetRasterCount(ds);
  if ((expect_w && w != expect_w) || (expect_h && h != expect_h)) {
    rc = swath_error_set(SWATH_EINVAL, "%s image is %dx%d, expected %dx%d", sniff_name(kind), w, h,
                         expect_w ? expect_w : w, expect_h ? expect_h : h);
    goto out;
  }
  if (bands < 1 || w < 1 || h < 1) {
    rc = swath_error_set(SWATH_EINVAL, "%s image has no pixels (%dx%d, %d bands)", sniff_name(kind),
                         w, h, bands);
    goto out;
  }
  /* A JPEG of 256 px or more has GDAL overviews that libjpeg decodes
   * scaled (1/2 to 1/8): the whole entropy-coded stream is still read, so a
   * cut or corrupt one fails as it does at full size, for a fraction of the
   * inverse DCT (a 256 px tile 0.99 -> 0.56 ms, 1024 px 8.4 -> 2.6 ms). */
  if (kind == SWATH_SNIFF_JPEG) {
    GDALRasterBandH b1 = GDALGetRasterBand(ds, 1);
    int n = GDALGetOverviewCount(b1);
    GDALRasterBandH o = n > 0 ? GDALGetOverview(b1, n - 1) : NULL;
    if (o) {
      int ow = GDALGetRasterBandXSize(o), oh = GDALGetRasterBandYSize(o);
      unsigned char *small = malloc((size_t)ow * (size_t)oh * (size_t)bands);
      if (!small) {
        rc = swath_error_set(SWATH_ENOMEM, "out of memory decoding a %dx%d image", w, h);
        goto out;
      }
      CPLErr e = GDALDatasetRasterIO(ds, GF_Read, 0, 0, w, h, small, ow, oh, GDT_Byte, bands, NULL,
                                     0, 0, 0);
      if (e >= CE_Failure || errs.count)
        rc = swath_error_set(SWATH_ETRANSIENT, "%s image does not decode (cut short?): %s",
                             sniff_name(kind), errs.count ? errs.first : "read failed");
      free(small);
      goto out;
    }
  }
  /* Decode every pixel, a band of rows at a time: headers alone do not show
   * a truncated stream. */
  int rows = (int)(((size_t)4 << 20) / ((size_t)w * (size_t)bands));
  if (rows < 1) rows = 1;
  if (rows > h) rows = h;
  unsigned char *buf = malloc((size_t)w * (size_t)rows * (size_t)bands);
  if (!buf) {
    rc = swath_error_set(SWATH_ENOMEM, "out of memory decoding a %dx%d image", w, h);
    goto out;
  }
  for (int y = 0; y < h && rc == 0; y += rows) {
    int n = y + rows > h ? h - y : rows;
    CPLErr e =
        GDALDatasetRasterIO(ds, GF_Read, 0, y, w, n, buf, w, n, GDT_Byte, bands, NULL, 0, 0, 0);
    if (e >= CE_Failure || errs.count)
      rc = swath_error_set(SWATH_ETRANSIENT, "%s image does not decode (cut short?): %s",
                           sniff_name(kind), errs.count ? errs.first : "read failed");
  }
  free(buf);
out:
  if (ds) GDALClose(ds);
  CPLSetThreadLocalConfigOption("GDAL_ERROR_ON_LIBJPEG_WARNING", saved);
  CPLFree(saved);
  CPLPopErrorHandler();
  VSIUnlink(name);
  return rc;
}

/* A document swath will parse (capabilities) must be whole: a body cut
 * short behind a 200 is usually well-formed up to the cut, and once cached it
 * would fail to parse on every run until it expires. GDAL's XML parser says
 * whether it is complete; one that is not is retried like a cut image. */
static int xml_complete(const void *body, size_t len) {
  const char *b = body;
  if (len >= 3 && memcmp(b, "\xef\xbb\xbf", 3) == 0) b += 3, len -= 3; /* byte order mark */
  char *text = malloc(len + 1);
  if (!text)
    return swath_error_set(SWATH_ENOMEM, "out of memory checking a %zu byte document", len);
  memcpy(text, b, len);
  text[len] = '\0';
  struct gdal_errors errs = {0};
  CPLPushErrorHandlerEx(capture_errors, &errs);
  CPLXMLNode *root = CPLParseXMLString(text);
  CPLPopErrorHandler();
  free(text);
  if (!root)
    return swath_error_set(SWATH_ETRANSIENT, "XML document does not parse (cut short?): %s",
                           errs.count ? errs.first : "no root element");
  CPLDestroyXMLNode(root);
  return 0;
}

/* `text` as one line of at most 300 characters: control characters become
 * spaces, runs of white space one. */
static size_t one_line(const char *text, size_t n, char *buf, size_t cap) {
  size_t k = 0;
  if (cap > 301) cap = 301;
  for (size_t i = 0; i < n && k + 1 < cap; i++) {
    unsigned char c = (unsigned char)text[i];
    if (c < 32 || c == 127) c = ' ';
    if (c == ' ' && (k == 0 || buf[k - 1] == ' ')) continue;
    buf[k++] = (char)c;
  }
  while (k > 0 && buf[k - 1] == ' ')
    k--;
  buf[k] = '\0';
  return k;
}

static const char *json_error_member(const json_t *o) {
  static const char *const keys[] = {"error", "message", "description", "detail"};
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
    const json_t *v = json_object_get(o, keys[i]);
    if (json_is_object(v)) v = json_object_get(v, "message"); /* {"error": {"message": ...}} */
    if (json_is_string(v) && json_string_length(v) > 0) return json_string_value(v);
  }
  return NULL;
}

size_t swath_fetch_error_text(const void *body, size_t len, const char *content_type, char *buf,
                              size_t cap) {
  if (cap == 0) return 0;
  buf[0] = '\0';
  const char *b = body;
  size_t i = 0;
  while (i < len && is_space((unsigned char)b[i]))
    i++;
  if (i < len && b[i] == '{' && len <= ((size_t)1 << 20)) {
    json_t *o = json_loadb(b, len, 0, NULL);
    const char *msg = json_is_object(o) ? json_error_member(o) : NULL;
    size_t k = msg ? one_line(msg, strlen(msg), buf, cap) : 0;
    json_decref(o);
    return k;
  }
  swath_fetch_sniffed s = swath_fetch_sniff(body, len);
  if (s == SWATH_SNIFF_OGC_EXCEPTION) {
    char text[400];
    size_t k = swath_fetch_exception_text(body, len, text, sizeof text);
    return k ? one_line(text, k, buf, cap) : 0;
  }
  if (content_type && strncasecmp(content_type, "text/plain", 10) == 0) {
    const char *nl = memchr(b + i, '\n', len - i);
    return one_line(b + i, nl ? (size_t)(nl - (b + i)) : len - i, buf, cap);
  }
  return 0;
}

int swath_fetch_validate(const void *body, size_t len, const char *content_type, unsigned kinds,
                         int expect_width, int expect_height) {
  if (kinds == 0) kinds = SWATH_FETCH_IMAGE;
  const char *ct = content_type && *content_type ? content_type : "no content type";
  swath_fetch_sniffed s = swath_fetch_sniff(body, len);
  if (s == SWATH_SNIFF_EMPTY && len == 0) return swath_error_set(SWATH_EINVAL, "empty body");
  if (kinds & SWATH_FETCH_ANY) return 0;
  char text[400], want[48];
  kinds_text(kinds, want, sizeof want);
  switch (s) {
  case SWATH_SNIFF_EMPTY:
    return swath_error_set(SWATH_EINVAL, "empty body (%zu bytes of white space)", len);
  case SWATH_SNIFF_HTML:
    html_title(body, len, text, sizeof text);
    return swath_error_set(SWATH_EINVAL, "not %s: HTML page (%s)%s%s%s",
                           kinds & SWATH_FETCH_IMAGE ? "an image" : "XML", ct,
                           text[0] ? " titled \"" : "", text, text[0] ? "\"" : "");
  case SWATH_SNIFF_OGC_EXCEPTION: {
    int wms = find(body, (const unsigned char *)body + (len > 65536 ? 65536 : len),
                   "ServiceException") != NULL;
    if (!swath_fetch_exception_text(body, len, text, sizeof text))
      snprintf(text, sizeof text, "(no exception text)");
    return swath_error_set(SWATH_EINVAL, "%s exception: %s", wms ? "WMS" : "OGC", text);
  }
  case SWATH_SNIFF_XML:
    if (kinds & SWATH_FETCH_XML) return xml_complete(body, len);
    excerpt(body, len, text, sizeof text);
    return swath_error_set(SWATH_EINVAL, "not an image: XML document (%s) \"%s\"", ct, text);
  case SWATH_SNIFF_OTHER:
  case SWATH_SNIFF_GIF:
    excerpt(body, len, text, sizeof text);
    return swath_error_set(SWATH_EINVAL, "not %s: %s body (%s) starting \"%s\"", want,
                           s == SWATH_SNIFF_GIF ? "GIF" : "unrecognised", ct, text);
  default:
    break;
  }
  if (!(kinds & sniff_kind(s)))
    return swath_error_set(SWATH_EINVAL, "got a %s image, expected %s", sniff_name(s), want);
  /* A PNG proven good from its chunks and zlib stream needs no decode; one
   * not proven gets the full decode, for the verdict and the reason. */
  if (s == SWATH_SNIFF_PNG && swath__png_check(body, len, expect_width, expect_height)) return 0;
  return decode_image(body, len, s, expect_width, expect_height);
}

int swath_fetch_check_file(const char *path, unsigned kinds, int expect_width, int expect_height,
                           size_t max_bytes) {
  FILE *fp = fopen(path, "rb");
  if (!fp) return swath_error_set(SWATH_EIO, "cannot read %s: %s", path, strerror(errno));
  struct stat st;
  int rc;
  char *body = NULL;
  if (fstat(fileno(fp), &st) != 0 || st.st_size <= 0 || (size_t)st.st_size > max_bytes) {
    rc = swath_error_set(SWATH_EINVAL, "%s is empty, or larger than %zu bytes", path, max_bytes);
  } else if (!(body = malloc((size_t)st.st_size))) {
    rc = swath_error_set(SWATH_ENOMEM, "out of memory reading %s", path);
  } else if (fread(body, 1, (size_t)st.st_size, fp) != (size_t)st.st_size) {
    rc = swath_error_set(SWATH_EIO, "cannot read %s", path);
  } else {
    rc = swath_fetch_validate(body, (size_t)st.st_size, NULL, kinds, expect_width, expect_height);
  }
  free(body);
  fclose(fp);
  return rc;
}

int swath__fetch_cached_passes(const swath_fetch_req *req, size_t max_bytes) {
  int ok = swath_fetch_check_file(req->dest, req->kinds, req->expect_width, req->expect_height,
                                  max_bytes) == 0;
  if (!ok) swath_debug("fetch: cached %s fails the checks: %s", req->dest, swath_error_message());
  swath_error_clear();
  return ok;
}
