#include "progress.h"

#include <algorithm>
#include <cmath>

namespace camgraph::cli {

std::string format_seconds(double s) {
  if (!(s >= 0)) return "?";
  long t = std::lround(s);
  char buf[32];
  if (t >= 3600) std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
  else std::snprintf(buf, sizeof buf, "%ld:%02ld", t / 60, t % 60);
  return buf;
}

void ProgressPrinter::end_bar() {
  if (bar_open_) std::fputs("\r\033[K", out_);
  bar_open_ = false;
}

void ProgressPrinter::draw_bar(const std::string& node, double fraction, double eta_s, const std::string& msg) {
  if (!tty_) return;
  const auto now = std::chrono::steady_clock::now();
  if (bar_open_ && fraction < 1 && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  constexpr int kWidth = 28;
  const int filled = std::clamp(int(fraction * kWidth), 0, kWidth);
  std::string bar(size_t(filled), '#');
  bar.append(size_t(kWidth - filled), '-');
  std::string m = msg.size() > 40 ? msg.substr(0, 40) : msg;
  std::fprintf(out_, "\r\033[K[%d/%d] %-16s [%s] %3d%%  ETA %s  %s", index_, total_, node.c_str(), bar.c_str(),
               int(fraction * 100), format_seconds(eta_s).c_str(), m.c_str());
  std::fflush(out_);
  bar_open_ = true;
}

void ProgressPrinter::on_event(const Event& e) {
  switch (e.kind) {
    case EventKind::RunStarted: {
      const auto& nodes = e.data["nodes"];
      total_ = int(nodes.size());
      for (size_t i = 0; i < nodes.size(); ++i) position_[nodes[i].get<std::string>()] = int(i) + 1;
      std::fprintf(out_, "running %d node%s on %s\n", total_, total_ == 1 ? "" : "s",
                   e.data.value("device", "cpu").c_str());
      break;
    }
    case EventKind::NodeStarted:
      index_ = position_[e.node];
      draw_bar(e.node, 0, -1, "");
      break;
    case EventKind::Progress: draw_bar(e.node, e.fraction, e.eta_s, e.message); break;
    case EventKind::NodeDone:
      end_bar();
      std::fprintf(out_, "[%d/%d] %-16s done    %8.2f s\n", position_[e.node], total_, e.node.c_str(), e.seconds);
      break;
    case EventKind::NodeCached:
      end_bar();
      std::fprintf(out_, "[%d/%d] %-16s cached  (%s)\n", position_[e.node], total_, e.node.c_str(),
                   e.data.value("tier", "memory").c_str());
      break;
    case EventKind::NodeFailed:
      end_bar();
      std::fprintf(out_, "[%d/%d] %-16s FAILED  %s%s%s\n", position_[e.node], total_, e.node.c_str(),
                   e.param.empty() ? "" : ("'" + e.param + "': ").c_str(), e.message.c_str(), "");
      break;
    case EventKind::NodeSkipped:
      end_bar();
      std::fprintf(out_, "[%d/%d] %-16s skipped (%s)\n", position_[e.node], total_, e.node.c_str(), e.message.c_str());
      break;
    case EventKind::Warning:
      end_bar();
      std::fprintf(out_, "warning: %s%s\n", e.node.empty() ? "" : ("node '" + e.node + "': ").c_str(),
                   e.message.c_str());
      break;
    case EventKind::Preview:  // intermediate values are for the editor; the bar shows progress
      return;
    case EventKind::RunFinished:
      end_bar();
      std::fprintf(out_, "run %s in %s\n", e.data.value("status", "?").c_str(), format_seconds(e.seconds).c_str());
      break;
  }
  std::fflush(out_);
}

}  // namespace camgraph::cli
