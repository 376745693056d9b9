/* bandmath_check.cpp: compile a bandmath expression with muParser's C++ API
 * to learn whether it is valid and, if not, why and where.
 *
 * Why not the C API: muParserDLL copies every error message and token into
 * one static 2 KB buffer with sprintf. muParser's message for an unknown
 * token quotes the whole rest of the expression, so a long expression with
 * one typo overflowed that buffer (glibc aborts: "buffer overflow
 * detected"), and the buffer is shared by every thread. The C++ exception
 * holds the message, the token and the position as strings of any length;
 * here the token is shortened in the message, and the position goes to
 * the caller, which shows the expression around it. */
#include <muParser.h>

#include <cstdio>
#include <exception>
#include <new>
#include <string>

#include "process/bandmath_int.h"

namespace {

const size_t kTokenMax = 40;

/* The first `n` bytes of s, not cutting a UTF-8 sequence. */
std::string utf8_prefix(const std::string &s, size_t n) {
  if (s.size() <= n) return s;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80)
    n--;
  return s.substr(0, n);
}

} // namespace

extern "C" int swath__bandmath_check(const char *expr, const char *const *vars, int nvars,
                                     char *msg, size_t cap, int *pos) {
  *pos = -1;
  if (cap) msg[0] = '\0';
  try {
    mu::Parser p;
    p.DefineNameChars(SWATH__BANDMATH_NAME_CHARS);
    double dummy = 1;
    for (int v = 0; v < nvars; v++)
      p.DefineVar(vars[v], &dummy);
    p.SetExpr(expr);
    p.Eval();
    return 0;
  } catch (const mu::Parser::exception_type &e) {
    std::string m = e.GetMsg();
    const std::string &tok = e.GetToken();
    if (tok.size() > kTokenMax) {
      size_t at = m.find(tok);
      if (at != std::string::npos) m.replace(at, tok.size(), utf8_prefix(tok, kTokenMax) + "...");
    }
    if (!m.empty() && m.back() == '.') m.pop_back(); /* the caller's text follows */
    *pos = e.GetPos();
    std::snprintf(msg, cap, "%s", m.c_str());
    return 1;
  } catch (const std::bad_alloc &) {
    std::snprintf(msg, cap, "out of memory");
    return -1;
  } catch (const std::exception &e) {
    std::snprintf(msg, cap, "%s", e.what());
    return -1;
  } catch (...) {
    std::snprintf(msg, cap, "unexpected failure in muParser");
    return -1;
  }
}
