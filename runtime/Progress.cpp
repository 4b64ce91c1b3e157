//===- Progress.cpp - a progress bar on stderr ----------------------------===//
#include "runtime/Progress.h"

#include <algorithm>
#include <cstdio>
#include <unistd.h>

namespace quamba {

ProgressBar::ProgressBar(std::string label, int64_t total, std::string unit)
    : label(std::move(label)), unit(std::move(unit)),
      total(std::max<int64_t>(total, 1)), interactive(isatty(STDERR_FILENO)),
      start(std::chrono::steady_clock::now()), lastDraw(start) {}

void ProgressBar::update(int64_t value) {
  done = std::min(value, total);
  auto now = std::chrono::steady_clock::now();
  int decile = static_cast<int>(10 * done / total);
  bool due = interactive ? now - lastDraw > std::chrono::milliseconds(100)
                         : decile != lastDecile;
  if (!due)
    return;
  lastDraw = now;
  lastDecile = decile;
  draw(false);
}

void ProgressBar::finish() {
  // A log (not a terminal) already has its 100 % line from update().
  if (!interactive && lastDecile == 10)
    return;
  done = total;
  draw(true);
}

void ProgressBar::draw(bool final) {
  double seconds = std::chrono::duration<double>(
                       std::chrono::steady_clock::now() - start)
                       .count();
  double rate = seconds > 0 ? done / seconds : 0.0;
  constexpr int width = 30;
  int filled = static_cast<int>(width * done / total);
  std::string bar(filled, '=');
  if (filled < width)
    bar += '>' + std::string(width - filled - 1, ' ');
  std::fprintf(stderr, "%s%s [%s] %3d%% %lld/%lld %s, %.0f %s/s, %.1f s%s",
               interactive ? "\r" : "", label.c_str(), bar.c_str(),
               static_cast<int>(100 * done / total),
               static_cast<long long>(done), static_cast<long long>(total),
               unit.c_str(), rate, unit.c_str(), seconds,
               final || !interactive ? "\n" : "");
  std::fflush(stderr);
}

} // namespace quamba
