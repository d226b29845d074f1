#include "apps/common/tls_check.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <cstdio>
#include <cstring>
#include <memory>

namespace livesync {

namespace {

std::string openssl_reason() {
  auto code = ERR_get_error();
  ERR_clear_error();
  if (code == 0)
    return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(code, buf, sizeof(buf));
  return buf;
}

int passphrase_cb(char* buf, int size, int, void* userdata) {
  auto* pass = static_cast<const std::string*>(userdata);
  if (pass == nullptr || pass->empty())
    return 0;
  auto n = std::min(static_cast<int>(pass->size()), size);
  std::memcpy(buf, pass->data(), static_cast<size_t>(n));
  return n;
}

bool readable(const std::string& path) {
  auto* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr)
    return false;
  std::fclose(f);
  return true;
}

} // namespace

std::string check_tls_files(const tls_files& files) {
  if (files.certificate.empty())
    return "openssl.certificate is not set (mutual TLS needs certificate, "
           "key and cafile)";
  if (files.key.empty())
    return "openssl.key is not set (mutual TLS needs certificate, key and "
           "cafile)";
  // Every CA in a capath directory may admit a peer, and the usual one is
  // the system store: every public CA's certificates would be let in.
  if (!files.capath.empty())
    return "openssl.capath is refused: every CA in " + files.capath
           + " could admit a peer (the system store would admit any public "
             "CA's certificates); give the private CA as openssl.cafile";
  if (files.cafile.empty())
    return "openssl.cafile is not set: without it no peer can be verified";
  for (auto* p : {&files.certificate, &files.key, &files.cafile})
    if (!p->empty() && !readable(*p))
      return "cannot read " + *p + ": " + std::strerror(errno);
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx{
    SSL_CTX_new(TLS_method()), SSL_CTX_free};
  if (!ctx)
    return "cannot create a TLS context: " + openssl_reason();
  SSL_CTX_set_default_passwd_cb(ctx.get(), passphrase_cb);
  SSL_CTX_set_default_passwd_cb_userdata(
    ctx.get(), const_cast<std::string*>(&files.passphrase));
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), files.certificate.c_str())
      != 1)
    return "cannot load certificate " + files.certificate + ": "
           + openssl_reason();
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), files.key.c_str(),
                                  SSL_FILETYPE_PEM)
      != 1)
    return "cannot load private key " + files.key
           + " (wrong or missing openssl.passphrase?): " + openssl_reason();
  if (SSL_CTX_check_private_key(ctx.get()) != 1)
    return "private key " + files.key + " does not match certificate "
           + files.certificate;
  const char* cafile = files.cafile.empty() ? nullptr : files.cafile.c_str();
  const char* capath = files.capath.empty() ? nullptr : files.capath.c_str();
  if (SSL_CTX_load_verify_locations(ctx.get(), cafile, capath) != 1)
    return "cannot load CA " + (cafile ? files.cafile : files.capath) + ": "
           + openssl_reason();
  // The peer checks our certificate against the same private CA: one that
  // does not verify here would fail every handshake without a word.
  auto* cert = SSL_CTX_get0_certificate(ctx.get());
  std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)> vctx{
    X509_STORE_CTX_new(), X509_STORE_CTX_free};
  if (!vctx
      || X509_STORE_CTX_init(vctx.get(), SSL_CTX_get_cert_store(ctx.get()),
                             cert, nullptr)
           != 1)
    return "cannot verify certificate: " + openssl_reason();
  if (X509_verify_cert(vctx.get()) != 1)
    return "certificate " + files.certificate + " is not signed by the CA "
           + (cafile ? files.cafile : files.capath) + ": "
           + X509_verify_cert_error_string(
             X509_STORE_CTX_get_error(vctx.get()));
  return {};
}

} // namespace livesync
