#include "core/wire/op.hpp"

namespace livesync {

std::string to_string(op_kind k) {
  switch (k) {
    case op_kind::mkdir: return "mkdir";
    case op_kind::symlink: return "symlink";
    case op_kind::remove: return "remove";
    case op_kind::rename: return "rename";
    case op_kind::set_attr: return "set_attr";
    case op_kind::write_file: return "write_file";
    case op_kind::begin_file: return "begin_file";
    case op_kind::chunk: return "chunk";
    case op_kind::commit_file: return "commit_file";
    case op_kind::abort_file: return "abort_file";
    case op_kind::copy_range: return "copy_range";
    case op_kind::link: return "link";
  }
  return "invalid";
}

} // namespace livesync
