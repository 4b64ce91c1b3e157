//===- Progress.h - a progress bar on stderr -------------------*- C++ -*-===//
//
// Long runs (perplexity over a corpus, calibration) report progress on
// stderr, redrawn in place on a terminal and every 10 % otherwise, so logs
// stay short.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace quamba {

class ProgressBar {
public:
  /// `unit` names what is counted ("tok"), for the rate.
  ProgressBar(std::string label, int64_t total, std::string unit);
  /// Sets the amount done, measured in units (e.g. tokens processed).
  void update(int64_t done);
  /// Draws the final state and ends the line.
  void finish();

private:
  void draw(bool final);
  std::string label, unit;
  int64_t total, done = 0;
  int lastDecile = -1;
  bool interactive;
  std::chrono::steady_clock::time_point start, lastDraw;
};

} // namespace quamba
