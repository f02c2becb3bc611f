// What octomig shows while it waits for a task: on a terminal (stderr is a TTY) one live line,
// rewritten in place with '\r' and clear-to-end-of-line,
//
//   export ServerTasks-3  Executing  Build package…  00:00:04
//
// (the latest log line's text, cut to the terminal's width); otherwise plain lines, one per
// change of state or step, without control characters. Progress always goes to stderr: stdout
// holds only results (or, with --json, the one JSON object).
#pragma once

#include <chrono>
#include <cstdio>
#include <string>
#include <string_view>

namespace octomig::cli {

// A task as the last poll saw it.
struct task_view {
  std::string label;      // "export", "import (dry run)", "import", "task"
  std::string id;         // "ServerTasks-3"
  std::string state;      // "Executing"
  std::string step;       // the step it runs (the details' ProgressMessage); may be empty
  std::string last_line;  // the latest log line's text; may be empty
  std::chrono::steady_clock::duration elapsed{};
};

class progress {
 public:
  // width: the terminal's columns (for the live line).
  progress(std::FILE* out, bool terminal, std::size_t width);
  // On stderr, live when it is a terminal, as wide as the terminal (80 when it does not say).
  static progress on_stderr();

  // A poll's view of a task that has not completed.
  void show(const task_view& v);
  // The last view of a task: the line ends here.
  void finish(const task_view& v);
  // Ends a live line that is still open, keeping what it shows (before an error is printed).
  void close();

 private:
  void write(const std::string& text);

  std::FILE* out_;
  bool terminal_;
  std::size_t width_;
  bool line_open_ = false;
  std::string last_shown_;  // plain lines: the id, state and step last printed
};

// "label id  state  detail  HH:MM:SS" in at most width - 1 columns: detail is cut with "…" (or
// left out) to fit. Control characters in detail become spaces.
std::string progress_line(const task_view& v, std::string_view detail, std::size_t width);

// "00:00:04"; hours go past 99 when they must.
std::string clock_text(std::chrono::steady_clock::duration d);

// text with every control character (including '\r' and ESC) replaced by a space: server text
// shown on a terminal cannot move the cursor or change colours.
std::string printable(std::string_view text);

}  // namespace octomig::cli
