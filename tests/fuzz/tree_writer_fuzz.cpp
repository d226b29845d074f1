// Fuzz target: the reference's applier (core/reference/tree_writer), which takes every
// operation a peer sends. The input decodes to up to 32 operations (the
// layout is in tests/fuzz/seeds.py) applied to a writer whose root holds
// files, a directory and symlinks leading to an "outside" tree beside it
// (sandbox.hpp). A model of the open transfers predicts the bytes of each
// staging file, so a flag can give a commit or write_file the right hash
// and reach the commit path.
//
// Checks, after every operation:
//  - a path an accepted op names obeys the path rules (path_oracle.hpp);
//  - what an accepted op says is there, is there (no symlink followed):
//    the directory, the link text, the committed bytes with their hash,
//    size, mode (masked) and mtime; a removed path is gone;
//  - a refused op changed nothing in the tree, and its reason is one
//    bounded printable line;
//  - open transfers are exactly the model's, with one staging file each;
//    the state folder holds nothing else;
//  - the tree holds only files, directories and symlinks, none setuid or
//    setgid (the default mode mask);
// and after each input: the manifest matches the tree, aborting and
// closing the writer leaves staging empty, no descriptor leaked, nothing
// outside the root changed and the root is the same directory.
#include "byte_reader.hpp"
#include "check.hpp"
#include "path_oracle.hpp"
#include "sandbox.hpp"

#include "core/wire/content_hash.hpp"
#include "core/common/path_rules.hpp"
#include "core/reference/tree_writer.hpp"

#include <zstd.h>

#include <set>

using namespace livesync;
using namespace livesync::fuzz;

namespace {

constexpr size_t max_ops = 32;

/// Writer limits small enough that every limit is reachable.
writer_limits fuzz_limits(uint8_t sel) {
  writer_limits l;
  l.max_data_bytes = 4096;
  l.max_open_transfers = 4;
  l.max_copy_sources = 3;
  l.max_staging_bytes = 64 << 10;
  l.sync = static_cast<durability>(sel % 3);
  // Both ways of building a whole file: O_TMPFILE linked in, and staging.
  l.site = (sel / 3) % 2 == 0 ? build_site::tmpfile : build_site::staging;
  return l;
}

// -- decoding fields --------------------------------------------------------

/// Names the fuzzer can combine into paths: the entries the sandbox made,
/// the state folder and a staging name, and names the rules refuse.
const std::vector<std::string>& tokens() {
  static const std::vector<std::string> t{
    "base",     "d",        "f",         "escape", "up",        "secretlink",
    "back",     "a",        "b",         "outside", "secret",   "sub",
    ".livesync", "staging", "0.tmp",     ".",      "..",        "",
    "x\ny",     std::string(256, 'n')};
  return t;
}

std::string read_component(byte_reader& in) {
  size_t t = in.u8() % 32;
  if (t < tokens().size())
    return tokens()[t];
  return in.text(in.u8() % 16);
}

/// A path: mostly 1-4 components, sometimes raw bytes, a very deep or long
/// one, empty, or absolute into the outside tree.
std::string read_path(byte_reader& in, const std::string& base) {
  auto sel = in.u8();
  std::string p;
  if (sel < 192) {
    for (int i = 0, n = 1 + sel % 4; i < n; ++i)
      p += (i > 0 ? "/" : "") + read_component(in);
  } else if (sel < 224) {
    p = in.text(in.le(2) % 5000);
  } else if (sel < 240) {
    auto c = read_component(in);
    for (size_t i = 0, n = 1 + in.le(2) % 300; i < n; ++i)
      p += (i > 0 ? "/" : "") + c;
  } else if (sel >= 248) {
    p = base + "/outside/secret";
  }
  return p;
}

uint32_t read_mode(byte_reader& in) {
  static const uint32_t table[] = {0644, 0755, 0600, 0700,
                                   04755, 02755, 07777, 0};
  auto sel = in.u8();
  return sel < 192 ? table[sel % 8] : static_cast<uint32_t>(in.le(4));
}

int64_t read_mtime(byte_reader& in) {
  switch (in.u8() % 8) {
    case 0: return 0;
    case 1: return 1600000000123456789;
    case 2: return INT64_MIN;
    case 3: return INT64_MAX;
    case 4: return -1;
    case 5: return -1000000001;
    default: return static_cast<int64_t>(in.le(8));
  }
}

/// Sizes and offsets: small values mostly, and the edges of uint64_t.
uint64_t read_u64(byte_reader& in) {
  auto sel = in.u8();
  switch (sel % 8) {
    case 0: return in.u8();
    case 1: return in.le(2);
    case 2: return in.le(3);
    case 3: return UINT64_MAX - in.u8();
    case 4: return uint64_t{1} << 63;
    case 5: return in.le(8);
    case 6: return 0;
    default: return sel;
  }
}

uint64_t read_xfer(byte_reader& in) {
  auto sel = in.u8();
  return sel < 248 ? sel % 6 : in.le(8);
}

/// Flag bits of one op.
enum : uint8_t {
  right_hash = 0x01,    // the hash the content will have
  exact_size = 0x02,    // size = the payload's length
  right_offset = 0x04,  // offset = the transfer's bytes so far
};

/// Data of a write_file or chunk: raw, a valid zstd frame, garbage called
/// zstd, or an unknown encoding. Sets `decoded` to the bytes the writer
/// will see when the decoding succeeds (`known` false when unpredictable).
void read_data(byte_reader& in, uint8_t flags, op& x, std::string& decoded,
               bool& known) {
  auto payload = in.bytes(in.le(2) % 4200);
  x.size = (flags & exact_size) ? payload.size() : read_u64(in);
  known = true;
  switch ((flags >> 3) & 3) {
    case 0:
      x.encoding = data_encoding::raw;
      x.data = payload;
      decoded.assign(payload.begin(), payload.end());
      return;
    case 1: {
      x.encoding = data_encoding::zstd;
      x.data.resize(ZSTD_compressBound(payload.size()));
      auto n = ZSTD_compress(x.data.data(), x.data.size(), payload.data(),
                             payload.size(), 1);
      FUZZ_CHECK(!ZSTD_isError(n));
      x.data.resize(n);
      break;
    }
    case 2:
      x.encoding = data_encoding::zstd;
      x.data = payload;
      break;
    default:
      x.encoding = static_cast<data_encoding>(2 + (flags >> 5));
      x.data = payload;
      known = false;
      return;
  }
  // What a plain zstd call makes of it, if it makes exactly `size` bytes.
  known = false;
  if (x.size <= 4096) {
    decoded.assign(x.size + 1, '\0');
    auto n = ZSTD_decompress(decoded.data(), decoded.size(), x.data.data(),
                             x.data.size());
    known = !ZSTD_isError(n) && n == x.size;
    decoded.resize(known ? n : 0);
  }
}

hash128 wrong_hash(byte_reader& in) {
  return hash128{in.u8(), 0};
}

// -- one input ----------------------------------------------------------------

/// An open transfer as the harness predicts it.
struct shadow_transfer {
  std::string path;
  uint64_t size = 0;
  uint32_t mode = 0;
  int64_t mtime_ns = 0;
  std::string bytes;
  bool known = true;
  /// Copy sources, opened when the writer first copied from them (it keeps
  /// its descriptors, so it reads those inodes even if the path changes).
  std::map<std::string, unique_fd> sources;
};

/// Times every filesystem stores as given (tmpfs keeps any, ext4 clamps
/// to 1901-2446).
bool plain_time(int64_t ns) {
  return ns >= 0 && ns < int64_t{4} * 1000000000 * 1000000000;
}

class session {
public:
  session(sandbox& box, writer_limits limits)
    : box_(box), limits_(limits) {
    open_writer();
    root_fd_.reset(
      ::open(box.root().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    FUZZ_CHECK(root_fd_.valid());
    state_fd_.reset(::openat(root_fd_.get(), ".livesync",
                             O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    FUZZ_CHECK(state_fd_.valid());
    tree_ = snapshot(root_fd_.get(), ".livesync", false);
  }

  /// Decodes and applies one operation (or a writer-level action).
  void step(byte_reader& in) {
    auto sel = in.u8() % 17;
    auto flags = in.u8();
    switch (sel) {
      case 12: { // the reference dies and restarts: open cleans staging
        writer_.reset();
        shadow_.clear();
        FUZZ_CHECK(staging_count() == 0);
        // What a killed process leaves behind: a half-built file.
        unique_fd staging{::openat(state_fd_.get(), "staging",
                                   O_PATH | O_DIRECTORY | O_NOFOLLOW
                                     | O_CLOEXEC)};
        unique_fd stale{::openat(staging.get(), "7.tmp",
                                 O_CREAT | O_WRONLY | O_CLOEXEC, 0600)};
        FUZZ_CHECK(stale.valid());
        open_writer();
        return after(false);
      }
      case 13: // the peer is lost
        writer_->abort_all();
        shadow_.clear();
        return after(false);
      case 14:
        FUZZ_CHECK(writer_->end_batch());
        return after(false);
      case 15:
        check_recipe(in);
        return after(false);
      case 16: { // a kind this build does not know
        op x;
        x.kind = static_cast<op_kind>(12 + flags % 244);
        x.path = read_path(in, box_.base());
        FUZZ_CHECK(!writer_->apply(x));
        return after(false);
      }
      default:
        break;
    }
    op x;
    x.kind = static_cast<op_kind>(sel);
    std::string decoded;
    bool known = true;
    switch (x.kind) {
      case op_kind::mkdir:
        x.path = read_path(in, box_.base());
        x.mode = read_mode(in);
        break;
      case op_kind::symlink:
        x.path = read_path(in, box_.base());
        x.target = read_path(in, box_.base());
        x.mtime_ns = read_mtime(in);
        break;
      case op_kind::rename:
        x.path = read_path(in, box_.base());
        x.target = read_path(in, box_.base());
        break;
      case op_kind::remove:
        x.path = read_path(in, box_.base());
        break;
      case op_kind::set_attr:
        x.path = read_path(in, box_.base());
        x.mode = read_mode(in);
        x.mtime_ns = read_mtime(in);
        break;
      case op_kind::begin_file:
        x.path = read_path(in, box_.base());
        x.mode = read_mode(in);
        x.mtime_ns = read_mtime(in);
        x.size = read_u64(in);
        x.xfer = read_xfer(in);
        break;
      case op_kind::write_file:
        x.path = read_path(in, box_.base());
        x.mode = read_mode(in);
        x.mtime_ns = read_mtime(in);
        read_data(in, flags, x, decoded, known);
        x.hash = (flags & right_hash)
                   ? hash_bytes(decoded.data(), decoded.size())
                   : wrong_hash(in);
        break;
      case op_kind::chunk:
        x.xfer = read_xfer(in);
        read_data(in, flags, x, decoded, known);
        x.offset = read_offset(in, flags, x.xfer);
        break;
      case op_kind::commit_file:
        x.xfer = read_xfer(in);
        if ((flags & right_hash) && shadow_.count(x.xfer) != 0) {
          const auto& b = shadow_[x.xfer].bytes;
          x.hash = hash_bytes(b.data(), b.size());
        } else {
          x.hash = wrong_hash(in);
        }
        break;
      case op_kind::abort_file:
        x.xfer = read_xfer(in);
        break;
      case op_kind::link: {
        x.path = read_path(in, box_.base());
        x.target = read_path(in, box_.base());
        x.mode = read_mode(in);
        struct stat st;
        if ((flags & 1) && lookup(root_fd_.get(), x.target, st)) {
          // What the watcher would claim: the source as it is.
          x.size = static_cast<uint64_t>(st.st_size);
          x.mtime_ns = mtime_of(st);
        } else {
          x.size = read_u64(in);
          x.mtime_ns = read_mtime(in);
        }
        break;
      }
      case op_kind::copy_range:
        x.xfer = read_xfer(in);
        if (in.u8() & 1)
          x.target = read_path(in, box_.base());
        x.offset = read_u64(in);
        x.size = read_u64(in);
        break;
    }
    auto result = writer_->apply(x);
    if (trace_)
      std::fprintf(stderr, "op %s path=%s target=%s xfer=%llu -> %s\n",
                   to_string(x.kind).c_str(), printable(x.path, 80).c_str(),
                   printable(x.target, 80).c_str(),
                   static_cast<unsigned long long>(x.xfer),
                   result ? "ok" : printable(result.reason(), 200).c_str());
    if (!result) {
      // The reason goes to a log line and back to the peer.
      const auto& why = result.reason();
      FUZZ_CHECK(!why.empty() && why.size() <= 1024 + 3 + 32);
      for (unsigned char c : why)
        FUZZ_CHECK(c >= 0x20 && c != 0x7f);
    }
    check_paths(x, result.ok());
    if (result)
      check_applied(x, decoded, known);
    update_model(x, result.ok(), decoded, known);
    after(result.ok());
  }

  /// End of the input: the manifest, then abort and close.
  void finish() {
    check_manifest();
    writer_->abort_all();
    shadow_.clear();
    FUZZ_CHECK(staging_count() == 0);
    writer_.reset();
    FUZZ_CHECK(staging_count() == 0);
  }

private:
  void open_writer() {
    status err;
    writer_ = tree_writer::open(box_.root(), limits_, err);
    FUZZ_CHECK(writer_ != nullptr && err);
  }

  uint64_t read_offset(byte_reader& in, uint8_t flags, uint64_t xfer) {
    if ((flags & right_offset) && shadow_.count(xfer) != 0)
      return shadow_[xfer].bytes.size();
    return read_u64(in);
  }

  size_t staging_count() const {
    unique_fd staging{::openat(state_fd_.get(), "staging",
                               O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)};
    FUZZ_CHECK(staging.valid());
    return names_in(staging.get()).size();
  }

  /// Every path an accepted op names obeys the rules.
  void check_paths(const op& x, bool ok) {
    if (!ok)
      return;
    switch (x.kind) {
      case op_kind::rename:
      case op_kind::link:
        FUZZ_CHECK(path_allowed(x.target));
        [[fallthrough]];
      case op_kind::mkdir:
      case op_kind::symlink:
      case op_kind::remove:
      case op_kind::set_attr:
      case op_kind::write_file:
      case op_kind::begin_file:
        FUZZ_CHECK(path_allowed(x.path));
        break;
      case op_kind::copy_range:
        FUZZ_CHECK(x.target.empty() || path_allowed(x.target));
        break;
      default:
        break;
    }
  }

  /// What an accepted op promises is in the tree.
  void check_applied(const op& x, const std::string& decoded, bool known) {
    struct stat st;
    std::string content;
    auto perms = [&] { return static_cast<uint32_t>(st.st_mode & 07777); };
    switch (x.kind) {
      case op_kind::mkdir:
        FUZZ_CHECK(lookup(root_fd_.get(), x.path, st));
        FUZZ_CHECK(S_ISDIR(st.st_mode)
                   && perms() == (x.mode & limits_.mode_mask));
        break;
      case op_kind::symlink:
        FUZZ_CHECK(lookup(root_fd_.get(), x.path, st, &content));
        FUZZ_CHECK(S_ISLNK(st.st_mode) && content == x.target);
        break;
      case op_kind::remove:
        FUZZ_CHECK(!lookup(root_fd_.get(), x.path, st));
        break;
      case op_kind::rename:
        FUZZ_CHECK(lookup(root_fd_.get(), x.target, st));
        if (x.path != x.target)
          FUZZ_CHECK(!lookup(root_fd_.get(), x.path, st));
        break;
      case op_kind::set_attr:
        FUZZ_CHECK(lookup(root_fd_.get(), x.path, st));
        if (!S_ISLNK(st.st_mode))
          FUZZ_CHECK(perms() == (x.mode & limits_.mode_mask));
        if (plain_time(x.mtime_ns))
          FUZZ_CHECK(mtime_of(st) == x.mtime_ns);
        break;
      case op_kind::link: {
        // One inode, or a copy where the filesystem cannot link: either
        // way a regular file with the source's content and the op's mode.
        struct stat src;
        std::string source;
        FUZZ_CHECK(lookup(root_fd_.get(), x.target, src, &source));
        FUZZ_CHECK(lookup(root_fd_.get(), x.path, st, &content));
        FUZZ_CHECK(S_ISREG(st.st_mode) && content == source
                   && perms() == (x.mode & limits_.mode_mask));
        break;
      }
      case op_kind::write_file:
        FUZZ_CHECK(lookup(root_fd_.get(), x.path, st, &content));
        check_file(st, content, x.hash, x.size, x.mode & limits_.mode_mask,
                   x.mtime_ns);
        if (known)
          FUZZ_CHECK(content == decoded);
        break;
      case op_kind::commit_file: {
        auto i = shadow_.find(x.xfer);
        FUZZ_CHECK(i != shadow_.end());
        const auto& t = i->second;
        FUZZ_CHECK(lookup(root_fd_.get(), t.path, st, &content));
        check_file(st, content, x.hash, t.size, t.mode, t.mtime_ns);
        if (t.known)
          FUZZ_CHECK(content == t.bytes);
        break;
      }
      case op_kind::begin_file:
        FUZZ_CHECK(shadow_.count(x.xfer) == 0);
        break;
      case op_kind::chunk:
      case op_kind::copy_range:
        FUZZ_CHECK(shadow_.count(x.xfer) != 0);
        break;
      default:
        break;
    }
  }

  void check_file(const struct stat& st, const std::string& content,
                  hash128 hash, uint64_t size, uint32_t mode,
                  int64_t mtime_ns) {
    FUZZ_CHECK(S_ISREG(st.st_mode));
    FUZZ_CHECK(content.size() == size);
    FUZZ_CHECK(hash_bytes(content.data(), content.size()) == hash);
    FUZZ_CHECK((st.st_mode & 07777) == mode);
    if (plain_time(mtime_ns))
      FUZZ_CHECK(mtime_of(st) == mtime_ns);
  }

  /// Follows the writer's transfer bookkeeping: a refused chunk or copy
  /// drops its transfer, a commit closes it whatever happens.
  void update_model(const op& x, bool ok, const std::string& decoded,
                    bool known) {
    switch (x.kind) {
      case op_kind::begin_file:
        if (ok) {
          auto& t = shadow_[x.xfer];
          t.path = x.path;
          t.size = x.size;
          t.mode = x.mode & limits_.mode_mask;
          t.mtime_ns = x.mtime_ns;
        }
        break;
      case op_kind::chunk:
        if (!ok) {
          drop(x.xfer);
        } else {
          // Unpredicted bytes still count: an accepted zstd chunk expanded
          // to exactly `size`, and the next offset depends on it.
          auto& t = shadow_[x.xfer];
          t.bytes += known ? decoded : std::string(x.size, '\0');
          t.known = t.known && known;
        }
        break;
      case op_kind::copy_range:
        if (ok)
          append_copy(shadow_[x.xfer], x);
        else
          drop(x.xfer);
        break;
      case op_kind::commit_file:
      case op_kind::abort_file:
        shadow_.erase(x.xfer);
        break;
      default:
        break;
    }
  }

  /// A refused chunk or copy closes its transfer, and the writer remembers
  /// it (so the receiver logs the later ops of it as an echo).
  void drop(uint64_t xfer) {
    if (shadow_.erase(xfer) != 0)
      FUZZ_CHECK(writer_->was_dropped(xfer));
  }

  /// Reads the range the writer just copied, from the same inode.
  void append_copy(shadow_transfer& t, const op& x) {
    const auto& source = x.target.empty() ? t.path : x.target;
    auto i = t.sources.find(source);
    if (i == t.sources.end()) {
      std::string leaf;
      unique_fd dir{open_parent_nofollow(root_fd_.get(), source, leaf)};
      FUZZ_CHECK(dir.valid());
      unique_fd fd{::openat(dir.get(), leaf.c_str(),
                            O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)};
      FUZZ_CHECK(fd.valid());
      i = t.sources.emplace(source, std::move(fd)).first;
    }
    std::string buf(x.size, '\0');
    FUZZ_CHECK(::pread(i->second.get(), buf.data(), buf.size(),
                       static_cast<off_t>(x.offset))
               == static_cast<ssize_t>(buf.size()));
    t.bytes += buf;
  }

  /// Checks that hold after every step; only a step that succeeded and
  /// is meant to (`may_change`) can have changed the tree.
  void after(bool may_change) {
    FUZZ_CHECK(writer_->open_transfers() == shadow_.size());
    FUZZ_CHECK(staging_count() == shadow_.size());
    auto state = names_in(state_fd_.get());
    FUZZ_CHECK(state.size() == 1 && state[0] == "staging");
    auto now = snapshot(root_fd_.get(), ".livesync", false);
    if (!may_change)
      FUZZ_CHECK(now == tree_);
    for (auto& [path, e] : now) {
      // The mask strips setuid and setgid; only three kinds are made.
      FUZZ_CHECK((e.mode & 06000) == 0);
      FUZZ_CHECK(S_ISREG(e.mode) || S_ISDIR(e.mode) || S_ISLNK(e.mode));
    }
    tree_ = std::move(now);
  }

  void check_recipe(byte_reader& in) {
    auto path = read_path(in, box_.base());
    // The peer chooses the parameters: small valid ones, or raw.
    chunker_params p{512, 1024, 4096}; // the smallest the link accepts
    if (in.u8() & 1) {
      p.min_size = static_cast<uint32_t>(in.le(2));
      p.avg_size = static_cast<uint32_t>(in.le(2));
      p.max_size = static_cast<uint32_t>(in.le(3));
    }
    status err;
    auto r = writer_->reader().recipe_of(path, p, err);
    struct stat st;
    if (err) {
      FUZZ_CHECK(path_allowed(path) && !invalid_link_chunker_params(p));
      FUZZ_CHECK(lookup(root_fd_.get(), path, st) && S_ISREG(st.st_mode));
      FUZZ_CHECK(recipe_size(r) == static_cast<uint64_t>(st.st_size));
    } else {
      FUZZ_CHECK(r.empty());
    }
  }

  /// The manifest the reference would send is the tree as it is.
  void check_manifest() {
    status err;
    auto m = writer_->reader().manifest(err);
    FUZZ_CHECK(err);
    FUZZ_CHECK(m.size() == tree_.size());
    std::set<std::string> seen;
    for (const auto& e : m) {
      FUZZ_CHECK(path_allowed(e.path));
      auto parent = std::string{parent_of(e.path)};
      FUZZ_CHECK(parent.empty() || seen.count(parent) != 0);
      seen.insert(e.path);
      auto i = tree_.find(e.path);
      FUZZ_CHECK(i != tree_.end());
      const auto& s = i->second;
      FUZZ_CHECK(e.meta.mode == (s.mode & 07777));
      // Exact for every time, INT64_MIN included (it once overflowed).
      FUZZ_CHECK(e.meta.mtime_ns == s.mtime_ns);
      switch (e.meta.kind) {
        case entry_kind::file:
          FUZZ_CHECK(S_ISREG(s.mode) && e.meta.size == uint64_t(s.size));
          break;
        case entry_kind::dir:
          FUZZ_CHECK(S_ISDIR(s.mode));
          break;
        case entry_kind::symlink:
          FUZZ_CHECK(S_ISLNK(s.mode) && e.meta.target == s.text);
          break;
        default:
          FUZZ_CHECK(false);
      }
    }
  }

  /// LIVESYNC_FUZZ_TRACE=1: one line per op, to read a crash's input.
  const bool trace_ = std::getenv("LIVESYNC_FUZZ_TRACE") != nullptr;
  sandbox& box_;
  writer_limits limits_;
  std::unique_ptr<tree_writer> writer_;
  unique_fd root_fd_;
  unique_fd state_fd_;
  std::map<uint64_t, shadow_transfer> shadow_;
  tree_snapshot tree_;
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static sandbox box;
  byte_reader in{data, size};
  auto limits = fuzz_limits(in.u8());
  box.populate_root();
  int fd_mark = lowest_free_fd();
  {
    session s{box, limits};
    for (size_t i = 0; i < max_ops && !in.empty(); ++i)
      s.step(in);
    s.finish();
  }
  FUZZ_CHECK(lowest_free_fd() == fd_mark);
  FUZZ_CHECK(box.outside_intact());
  box.clear_root();
  return 0;
}
