#include "core/common/prometheus_text.hpp"

#include "core/common/utf8.hpp"

#include <charconv>
#include <cmath>

namespace livesync {

namespace {

/// Appends `v` with `escape(c)` deciding each ASCII byte's form; bytes of
/// valid UTF-8 sequences are copied, others become U+FFFD.
template <class Escape>
std::string escaped(std::string_view v, Escape escape) {
  std::string out;
  out.reserve(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    auto c = static_cast<unsigned char>(v[i]);
    if (c < 0x80) {
      escape(out, static_cast<char>(c));
      continue;
    }
    if (auto n = utf8_sequence_length(v, i); n > 1) {
      out.append(v.substr(i, n));
      i += n - 1;
    } else {
      out += "\xef\xbf\xbd"; // U+FFFD
    }
  }
  return out;
}

bool name_char(char c, bool first, bool colon) noexcept {
  bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
  bool digit = c >= '0' && c <= '9';
  return alpha || (!first && digit) || (colon && c == ':');
}

bool valid_name(std::string_view name, bool colon) noexcept {
  if (name.empty())
    return false;
  for (size_t i = 0; i < name.size(); ++i)
    if (!name_char(name[i], i == 0, colon))
      return false;
  return true;
}

const char* type_name(metric_type t) {
  switch (t) {
    case metric_type::counter: return "counter";
    case metric_type::gauge: return "gauge";
    case metric_type::histogram: return "histogram";
  }
  return "untyped";
}

} // namespace

std::string escape_label_value(std::string_view v) {
  return escaped(v, [](std::string& out, char c) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  });
}

std::string escape_help(std::string_view v) {
  return escaped(v, [](std::string& out, char c) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  });
}

std::string format_value(uint64_t x) {
  return std::to_string(x);
}

std::string format_value(double x) {
  if (std::isnan(x))
    return "NaN";
  if (std::isinf(x))
    return x > 0 ? "+Inf" : "-Inf";
  // A whole number (a timestamp in seconds) as digits: the shortest form
  // would be 1.7e+09, which parses but reads badly. Below 2^53 a double
  // holds every integer exactly.
  if (std::trunc(x) == x && std::fabs(x) < 9007199254740992.0)
    return std::to_string(static_cast<int64_t>(x));
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, x);
  return std::string(buf, r.ptr);
}

std::string decimal_seconds(uint64_t count, int digits) {
  uint64_t scale = 1;
  for (int i = 0; i < digits; ++i)
    scale *= 10;
  auto out = std::to_string(count / scale);
  auto frac = std::to_string(count % scale);
  if (digits == 0 || count % scale == 0)
    return out;
  frac.insert(0, static_cast<size_t>(digits) - frac.size(), '0');
  frac.erase(frac.find_last_not_of('0') + 1);
  return out + "." + frac;
}

bool valid_metric_name(std::string_view name) noexcept {
  return valid_name(name, true);
}

std::string exposition::text() const {
  std::string out;
  for (auto& f : families_)
    out += f.text;
  return out;
}

bool valid_label_name(std::string_view name) noexcept {
  return valid_name(name, false) && name.substr(0, 2) != "__";
}

void exposition::family(std::string_view name, metric_type type,
                        std::string_view help) {
  // A family named again (the next watcher_status of several references)
  // collects its samples under the first HELP and TYPE lines.
  for (size_t i = 0; i < families_.size(); ++i)
    if (families_[i].name == name) {
      current_ = i;
      return;
    }
  current_ = families_.size();
  families_.push_back({std::string{name}, {}});
  auto& out_ = families_.back().text;
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  out_ += escape_help(help);
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += ' ';
  out_ += type_name(type);
  out_ += '\n';
}

void exposition::line(std::string_view name, const metric_labels& labels,
                      std::string_view value) {
  if (families_.empty())
    families_.push_back({});
  auto& out_ = families_[current_].text;
  out_ += name;
  if (!labels.empty()) {
    out_ += '{';
    for (size_t i = 0; i < labels.size(); ++i) {
      if (i > 0)
        out_ += ',';
      out_ += labels[i].name;
      out_ += "=\"";
      out_ += escape_label_value(labels[i].value);
      out_ += '"';
    }
    out_ += '}';
  }
  out_ += ' ';
  out_ += value;
  out_ += '\n';
}

void exposition::sample(std::string_view name, const metric_labels& labels,
                        uint64_t value) {
  line(name, labels, format_value(value));
}

void exposition::sample(std::string_view name, const metric_labels& labels,
                        double value) {
  line(name, labels, format_value(value));
}

void exposition::histogram(std::string_view name, std::string_view help,
                           const metric_labels& labels,
                           const std::vector<std::string>& bounds,
                           const std::vector<uint64_t>& cumulative,
                           uint64_t count, std::string_view sum) {
  family(name, metric_type::histogram, help);
  auto base = std::string{name};
  auto with_le = labels;
  with_le.push_back({"le", {}});
  for (size_t i = 0; i < bounds.size() && i < cumulative.size(); ++i) {
    with_le.back().value = bounds[i];
    line(base + "_bucket", with_le, format_value(cumulative[i]));
  }
  with_le.back().value = "+Inf";
  line(base + "_bucket", with_le, format_value(count));
  line(base + "_sum", labels, sum);
  line(base + "_count", labels, format_value(count));
}

} // namespace livesync
