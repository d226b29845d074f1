// Command-line mistakes said the way a person would. CAF's parser reports
// them as `parser_error(missing_argument, ({"argument" = "--root"}))`; the
// programs map its codes to an option_error and print this sentence.
#pragma once

#include <cstdint>
#include <string>

namespace livesync {

enum class option_error : uint8_t {
  /// "--root /srv/data": the value is not part of the argument.
  missing_value,
  /// "--port=99999": a number beyond the option's type.
  out_of_range,
  /// "--port=abc", "--port=-1": not a value of the option's type.
  malformed,
  /// "--bogus=1".
  unknown_option,
};

/// One sentence for `argument` (as given, e.g. "--port=99999"). `type` is
/// CAF's type name of the option ("uint16_t", "std::string", "timespan",
/// ...; empty when unknown).
std::string explain_option_error(option_error kind, const std::string& argument,
                                 const std::string& type);

} // namespace livesync
