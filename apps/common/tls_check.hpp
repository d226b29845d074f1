// Start-up checks of the TLS material given in CAF's openssl.* options.
// CAF 0.17 loads certificate and key only on the first connection and then
// fails dangerously (a server that aborts, a client that blocks forever;
// CAF-0.17.md §4), so both programs check everything before the actor
// system exists and exit 2 with a clear message instead.
#pragma once

#include <string>

namespace livesync {

struct tls_files {
  std::string certificate;
  std::string key;
  std::string passphrase;
  std::string cafile;
  std::string capath;

  /// True when any TLS option is set (CAF then requires mutual TLS).
  bool any() const {
    return !certificate.empty() || !key.empty() || !passphrase.empty()
           || !cafile.empty() || !capath.empty();
  }
};

/// Returns an empty string when the certificate chain and the (possibly
/// encrypted) key load, belong together and the certificate verifies
/// against the CA; otherwise one line saying what is wrong.
std::string check_tls_files(const tls_files& files);

} // namespace livesync
