// A strict reader of Prometheus' text exposition format (0.0.4) for the
// renderers' tests: every line well formed, every sample under its own
// family's HELP and TYPE, names and label names valid, no series twice,
// counters named *_total, histogram buckets cumulative up to +Inf, which
// equals _count. Returns the problems found, one line each.
#pragma once

#include "core/common/prometheus_text.hpp"

#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

namespace livesync::test {

struct parsed_sample {
  std::string name;
  std::map<std::string, std::string> labels;
  std::string value;
};

/// Parses `{a="x",b="y"}` (escapes undone); false on malformed text.
inline bool parse_labels(const std::string& s,
                         std::map<std::string, std::string>& out) {
  size_t i = 0;
  while (i < s.size()) {
    auto eq = s.find('=', i);
    if (eq == std::string::npos || eq + 1 >= s.size() || s[eq + 1] != '"')
      return false;
    auto name = s.substr(i, eq - i);
    std::string value;
    size_t j = eq + 2;
    for (; j < s.size() && s[j] != '"'; ++j) {
      if (s[j] == '\n')
        return false;
      if (s[j] == '\\') {
        if (++j >= s.size())
          return false;
        if (s[j] == 'n')
          value += '\n';
        else if (s[j] == '\\' || s[j] == '"')
          value += s[j];
        else
          return false;
      } else {
        value += s[j];
      }
    }
    if (j >= s.size() || !valid_label_name(name) || out.count(name))
      return false;
    out[name] = value;
    i = j + 1;
    if (i < s.size() && s[i] != ',')
      return false;
    if (i < s.size())
      ++i;
  }
  return true;
}

/// The samples of `text`, or problems in `bad`.
inline std::vector<parsed_sample>
parse_exposition(const std::string& text, std::vector<std::string>& bad) {
  std::vector<parsed_sample> out;
  static const std::regex help_rx{R"(^# HELP ([^ ]+) (.*)$)"};
  static const std::regex type_rx{
    R"(^# TYPE ([^ ]+) (counter|gauge|histogram|summary|untyped)$)"};
  static const std::regex sample_rx{
    R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? ([^ ]+)$)"};
  static const std::regex value_rx{
    R"(^([+-]?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?|[+-]Inf|NaN)$)"};
  std::map<std::string, std::string> types;
  std::set<std::string> helped, series;
  std::string family, type;
  if (!text.empty() && text.back() != '\n')
    bad.push_back("no newline at the end");
  size_t pos = 0;
  while (pos < text.size()) {
    auto nl = text.find('\n', pos);
    auto line = text.substr(pos, nl - pos);
    pos = nl == std::string::npos ? text.size() : nl + 1;
    std::smatch m;
    if (std::regex_match(line, m, help_rx)) {
      if (!valid_metric_name(m[1].str()) || !helped.insert(m[1]).second)
        bad.push_back("bad or repeated HELP: " + line);
      family = m[1];
      continue;
    }
    if (std::regex_match(line, m, type_rx)) {
      if (m[1].str() != family || types.count(family))
        bad.push_back("TYPE not right after its HELP: " + line);
      types[family] = type = m[2];
      if (type == "counter" && family.size() < 6)
        bad.push_back("short counter name: " + family);
      if (type == "counter"
          && family.compare(family.size() - 6, 6, "_total") != 0)
        bad.push_back("counter not named *_total: " + family);
      continue;
    }
    if (!std::regex_match(line, m, sample_rx)) {
      bad.push_back("malformed line: " + line);
      continue;
    }
    parsed_sample s;
    s.name = m[1];
    s.value = m[4];
    if (!std::regex_match(s.value, value_rx))
      bad.push_back("bad value: " + line);
    if (m[2].matched && !parse_labels(m[3].str(), s.labels))
      bad.push_back("bad labels: " + line);
    auto base = s.name;
    if (type == "histogram")
      for (auto suffix : {"_bucket", "_sum", "_count"}) {
        std::string sx{suffix};
        if (base.size() > sx.size()
            && base.compare(base.size() - sx.size(), sx.size(), sx) == 0
            && base.substr(0, base.size() - sx.size()) == family) {
          base = family;
          break;
        }
      }
    if (base != family)
      bad.push_back("sample outside its family " + family + ": " + line);
    if (type == "histogram" && s.name == family + "_bucket"
        && !s.labels.count("le"))
      bad.push_back("bucket without le: " + line);
    auto key = s.name + m[2].str();
    if (!series.insert(key).second)
      bad.push_back("series twice: " + key);
    out.push_back(std::move(s));
  }
  // Histograms: cumulative buckets per label set, +Inf last == _count.
  std::map<std::string, std::vector<const parsed_sample*>> buckets;
  std::map<std::string, std::string> counts;
  for (auto& s : out) {
    auto rest = s.labels;
    rest.erase("le");
    std::string id;
    for (auto& [k, v] : rest)
      id += k + "=" + v + ",";
    if (s.labels.count("le"))
      buckets[s.name + "|" + id].push_back(&s);
    else if (s.name.size() > 6
             && s.name.compare(s.name.size() - 6, 6, "_count") == 0)
      counts[s.name.substr(0, s.name.size() - 6) + "_bucket|" + id] = s.value;
  }
  for (auto& [id, bs] : buckets) {
    double last_le = -1, last = -1;
    for (auto b : bs) {
      auto le = b->labels.at("le");
      double bound = le == "+Inf" ? 1e308 : std::stod(le);
      double v = std::stod(b->value);
      if (bound <= last_le || v < last)
        bad.push_back("buckets not ascending and cumulative: " + id);
      last_le = bound;
      last = v;
    }
    if (bs.back()->labels.at("le") != "+Inf")
      bad.push_back("no +Inf bucket last: " + id);
    else if (counts[id] != bs.back()->value)
      bad.push_back("+Inf bucket differs from _count: " + id);
  }
  return out;
}

/// The value of the one sample named `name` whose labels include `with`;
/// "" when none matches, "several" when more than one does.
inline std::string value_of(const std::vector<parsed_sample>& xs,
                            const std::string& name,
                            const std::map<std::string, std::string>& with
                            = {}) {
  std::string found;
  int n = 0;
  for (auto& s : xs) {
    if (s.name != name)
      continue;
    bool all = true;
    for (auto& [k, v] : with)
      all = all && s.labels.count(k) && s.labels.at(k) == v;
    if (all) {
      found = s.value;
      ++n;
    }
  }
  return n > 1 ? "several" : found;
}

} // namespace livesync::test
