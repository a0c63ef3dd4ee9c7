// Terminal output for `camgraph-cli run`: one progress bar per node with ETA (on a TTY), or one
// line per finished node (in logs), plus a summary table.
#pragma once
#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "camgraph/events.h"

namespace camgraph::cli {

class ProgressPrinter {
 public:
  ProgressPrinter(std::FILE* out, bool interactive) : out_(out), tty_(interactive) {}
  void on_event(const Event& e);

 private:
  void draw_bar(const std::string& node, double fraction, double eta_s, const std::string& msg);
  void end_bar();
  std::FILE* out_;
  bool tty_;
  bool bar_open_ = false;
  int total_ = 0, index_ = 0;
  std::map<std::string, int> position_;
  std::chrono::steady_clock::time_point last_draw_{};
};

std::string format_seconds(double s);  // "0:07", "1:02:03"

}  // namespace camgraph::cli
