#include "core/common/option_errors.hpp"

#include "core/common/path_rules.hpp"

namespace livesync {

namespace {

/// "--port" of "--port=99999".
std::string key_of(const std::string& argument) {
  return argument.substr(0, argument.find('='));
}

/// What a value of CAF's option type `type` looks like, in words (CAF 0.17
/// says "uint16", "timespan", ...; a "_t" suffix is taken too).
std::string expected(const std::string& key, std::string type) {
  if (type.size() > 2 && type.compare(type.size() - 2, 2, "_t") == 0)
    type.resize(type.size() - 2);
  if (key == "--port" || key == "--control-port")
    return "a port is 0-65535";
  if (type == "uint16")
    return "a number from 0 to 65535";
  if (type == "uint32")
    return "a number from 0 to 4294967295";
  if (type == "uint64" || type == "size")
    return "a number from 0 to 18446744073709551615";
  if (type == "int32" || type == "int64" || type == "int")
    return "a whole number";
  if (type == "timespan")
    return "a duration such as 500ms, 10s or 2min";
  if (type == "boolean" || type == "bool")
    return "true or false";
  if (type.find("list") != std::string::npos)
    return "a list such as '[\"a\", \"b\"]'";
  return "a value of type " + (type.empty() ? std::string{"?"} : type);
}

} // namespace

std::string explain_option_error(option_error kind, const std::string& argument,
                                 const std::string& type) {
  auto shown = printable(argument, 200);
  auto key = printable(key_of(argument), 100);
  switch (kind) {
    case option_error::missing_value:
      return "options take --key=value: " + key + "=VALUE (not \"" + key
             + " VALUE\")";
    case option_error::out_of_range:
    case option_error::malformed:
      return shown + ": " + expected(key, type);
    case option_error::unknown_option:
      return shown + ": no such option (--help lists them)";
  }
  return shown + ": invalid";
}

} // namespace livesync
