// A workaround for CAF 0.17's OpenSSL sessions, linked into both programs.
//
// OpenSSL keeps one error queue per thread, and SSL_get_error() reports
// SSL_ERROR_SSL (fatal) whenever that queue is not empty, whichever session
// put the error there; its manual says the queue must be cleared before
// each TLS I/O call. CAF 0.17 (libcaf_openssl, session.cpp) never clears
// it, and runs every connection on one multiplexer thread: a client that
// connects and closes abruptly, or fails the handshake, leaves errors that
// make the next would-block read on the healthy watcher-reference link look
// fatal, and CAF drops that link (measured before this file: 3 of 5 raw
// connects during a transfer reset the link).
//
// These definitions interpose the four I/O entry points CAF calls (the
// executable's symbols win over libssl's in the dynamic lookup): each
// clears the thread's queue, then calls the real function. Errors of the
// call itself stay for CAF's SSL_get_error() right after it.
#include <dlfcn.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <cstdlib>

namespace {

template <class F>
F real(const char* name) {
  auto f = reinterpret_cast<F>(::dlsym(RTLD_NEXT, name));
  if (f == nullptr)
    std::abort(); // libssl is linked: cannot happen
  return f;
}

} // namespace

extern "C" {

__attribute__((visibility("default"))) int SSL_read(SSL* ssl, void* buf,
                                                    int num) {
  static auto f = real<int (*)(SSL*, void*, int)>("SSL_read");
  ERR_clear_error();
  return f(ssl, buf, num);
}

__attribute__((visibility("default"))) int SSL_write(SSL* ssl, const void* buf,
                                                     int num) {
  static auto f = real<int (*)(SSL*, const void*, int)>("SSL_write");
  ERR_clear_error();
  return f(ssl, buf, num);
}

__attribute__((visibility("default"))) int SSL_connect(SSL* ssl) {
  static auto f = real<int (*)(SSL*)>("SSL_connect");
  ERR_clear_error();
  return f(ssl);
}

__attribute__((visibility("default"))) int SSL_accept(SSL* ssl) {
  static auto f = real<int (*)(SSL*)>("SSL_accept");
  ERR_clear_error();
  return f(ssl);
}

} // extern "C"
