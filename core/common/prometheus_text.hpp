// Prometheus' text exposition format, version 0.0.4: what every Prometheus
// server scrapes and node_exporter's textfile collector reads. A small
// writer, no registry: core/watcher/watcher_metrics and core/reference/reference_metrics
// render a status snapshot through it, one metric family after another,
// each with its # HELP and # TYPE lines. Pure string building.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace livesync {

enum class metric_type { counter, gauge, histogram };

struct metric_label {
  std::string name;
  std::string value;
};

using metric_labels = std::vector<metric_label>;

/// A label value as it goes between the double quotes: backslash, double
/// quote and newline escaped (the format's only escapes); bytes that are
/// not valid UTF-8 become U+FFFD, since the format is UTF-8 and a path
/// need not be.
std::string escape_label_value(std::string_view v);

/// HELP text: backslash and newline escaped, invalid UTF-8 replaced.
std::string escape_help(std::string_view v);

/// A sample value: an integer exactly; a double in its shortest form that
/// reads back the same; "+Inf", "-Inf" and "NaN" as the format spells them.
std::string format_value(uint64_t x);
std::string format_value(double x);

/// `count` units of 10^-digits seconds as an exact decimal number of
/// seconds, without trailing zeros: (2500, 6) -> "0.0025", (3, 0) -> "3",
/// (1500000000, 9) -> "1.5". Exact where a double would print
/// 0.0025000000000000001.
std::string decimal_seconds(uint64_t count, int digits);

/// [a-zA-Z_:][a-zA-Z0-9_:]*
bool valid_metric_name(std::string_view name) noexcept;

/// [a-zA-Z_][a-zA-Z0-9_]*, not starting with "__" (reserved).
bool valid_label_name(std::string_view name) noexcept;

/// Appends families to one exposition text.
class exposition {
public:
  /// Starts a family: its HELP and TYPE lines; its samples follow. A name
  /// started before goes on with that family (the format wants each
  /// family's samples together: several watcher statuses in one text).
  void family(std::string_view name, metric_type type, std::string_view help);

  /// One sample line: `name{labels} value`.
  void sample(std::string_view name, const metric_labels& labels,
              uint64_t value);
  void sample(std::string_view name, const metric_labels& labels,
              double value);

  /// A whole histogram family. `bounds` are the upper bounds' `le` texts,
  /// ascending, and `cumulative[i]` the samples <= bounds[i]; the +Inf
  /// bucket is `count`, as are `_count`; `sum` is a formatted value.
  void histogram(std::string_view name, std::string_view help,
                 const metric_labels& labels,
                 const std::vector<std::string>& bounds,
                 const std::vector<uint64_t>& cumulative, uint64_t count,
                 std::string_view sum);

  /// The families in the order they were started.
  std::string text() const;

private:
  struct family_text {
    std::string name;
    std::string text;
  };

  void line(std::string_view name, const metric_labels& labels,
            std::string_view value);

  std::vector<family_text> families_;
  size_t current_ = 0;
};

} // namespace livesync
