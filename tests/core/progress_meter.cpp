#define CAF_SUITE core.progress_meter
#include <caf/test/unit_test.hpp>

#include "core/watcher/progress_meter.hpp"

using namespace livesync;
using namespace std::chrono_literals;

namespace {

const progress_meter::time_point t0 = progress_meter::time_point{} + 1h;

} // namespace

CAF_TEST(human-readable numbers) {
  CAF_CHECK_EQUAL(human_bytes(0), "0 B");
  CAF_CHECK_EQUAL(human_bytes(1023), "1023 B");
  CAF_CHECK_EQUAL(human_bytes(1024), "1.0 KiB");
  CAF_CHECK_EQUAL(human_bytes(1536), "1.5 KiB");
  CAF_CHECK_EQUAL(human_bytes(3.0 * 1024 * 1024 * 1024), "3.0 GiB");
  CAF_CHECK_EQUAL(grouped(0), "0");
  CAF_CHECK_EQUAL(grouped(999), "999");
  CAF_CHECK_EQUAL(grouped(1000), "1,000");
  CAF_CHECK_EQUAL(grouped(1234567), "1,234,567");
}

CAF_TEST(rate and eta follow the bytes done) {
  progress_meter p;
  p.start(t0);
  p.add_total(100 << 20);
  p.add_total(100 << 20);
  CAF_CHECK_LESS(p.eta_seconds(t0), 0.0); // No rate yet: unknown.
  p.update(1, 50 << 20, 10, 5);
  CAF_CHECK_EQUAL(p.rate(t0 + 1s), double(50 << 20));
  CAF_CHECK_EQUAL(p.eta_seconds(t0 + 1s), 3.0);
  CAF_CHECK_EQUAL(p.render(t0 + 1s),
                  "files 1/2 bytes 50.0 MiB/200.0 MiB (25%) 50.0 MiB/s eta "
                  "3s checked 10 (+5 queued)");
}

CAF_TEST(done never shows more than the total) {
  progress_meter p;
  p.start(t0);
  p.add_total(10);
  // The file grew between the comparison and its upload.
  p.update(1, 15, 1, 0);
  CAF_CHECK_EQUAL(p.counts().bytes_total, 15u);
  CAF_CHECK_EQUAL(p.eta_seconds(t0 + 1s), 0.0);
}

CAF_TEST(start resets the counts) {
  progress_meter p;
  p.start(t0);
  p.add_total(10);
  p.update(1, 10, 3, 0);
  p.start(t0 + 1h);
  CAF_CHECK_EQUAL(p.counts().files_total, 0u);
  CAF_CHECK_EQUAL(p.counts().checked, 0u);
  CAF_CHECK_EQUAL(p.render(t0 + 1h),
                  "files 0/0 bytes 0 B/0 B 0 B/s eta 0s checked 0");
}

CAF_TEST(long etas are shown in minutes and hours) {
  progress_meter p;
  p.start(t0);
  p.add_total(1000000);
  p.update(0, 100, 0, 0);
  // 100 B in 1 s, 999,900 B left: 9999 s = 2h46m.
  auto line = p.render(t0 + 1s);
  CAF_CHECK(line.find("eta 2h46m") != std::string::npos);
}
