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
 * the caller, which shows the expression around it.
 *
 * Two of muParser's operators are refused here, so no expression that
 * passes this check can use them at run time: '=' assigns to a variable,
 * and in bandmath's bulk mode a variable is an input band's plane, shared
 * by every expression of the job ("nir.b1 = 0; nir.b1" made the second
 * band zero; QGIS users write '=' for equality); ',' outside a function's
 * arguments makes several results, of which a band would keep the last.
 * The variables are defined as constants for the check: muParser refuses
 * '=' after a constant ("Unexpected operator"), wherever it stands. */
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
    for (int v = 0; v < nvars; v++)
      p.DefineConst(vars[v], 1);
    p.SetExpr(expr);
    p.Eval();
    int n = p.GetNumResults();
    if (n > 1) {
      std::snprintf(msg, cap,
                    "gives %d values separated by ','; write one value per expression and "
                    "separate output bands with ';' (',' separates a function's arguments)",
                    n);
      return 1;
    }
    return 0;
  } catch (const mu::Parser::exception_type &e) {
    std::string m = e.GetMsg();
    if (e.GetCode() == mu::ecUNEXPECTED_OPERATOR && e.GetToken() == "=") {
      if (!m.empty() && m.back() == '.') m.pop_back();
      m += " ('=' assigns, and an expression may not change an input; compare with '==')";
    }
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
