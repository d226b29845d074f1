#include "core/wire/content_hash.hpp"

#include <new>

#include <xxhash.h>

namespace livesync {

namespace {

hash128 to_hash128(XXH128_hash_t h) {
  hash128 out;
  out.lo = h.low64;
  out.hi = h.high64;
  return out;
}

} // namespace

content_hasher::content_hasher() : state_(XXH3_createState()) {
  if (state_ == nullptr)
    throw std::bad_alloc{};
  XXH3_128bits_reset(state_);
}

void content_hasher::reset() {
  XXH3_128bits_reset(state_);
}

content_hasher::~content_hasher() {
  XXH3_freeState(state_);
}

void content_hasher::update(const void* data, size_t n) {
  // xxhash rejects a null pointer even for zero bytes; nothing to add anyway.
  if (n == 0)
    return;
  XXH3_128bits_update(state_, data, n);
}

hash128 content_hasher::digest() const {
  return to_hash128(XXH3_128bits_digest(state_));
}

hash128 hash_bytes(const void* data, size_t n) {
  // Same digest as a streaming hasher fed nothing: avoid passing null.
  static const char empty = 0;
  return to_hash128(XXH3_128bits(n == 0 ? &empty : data, n));
}

} // namespace livesync
