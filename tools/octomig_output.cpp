// The progress line and plain progress lines (see octomig_output.hpp).
#include "tools/octomig_output.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

namespace octomig::cli {
namespace {

constexpr std::string_view clear_to_end = "\x1b[K";
constexpr std::string_view ellipsis = "\xe2\x80\xa6";  // U+2026, one column
constexpr std::size_t default_width = 80;
constexpr std::size_t plain_width = 4096;  // plain lines are not cut

// Columns of UTF-8 text, taking every code point as one column.
std::size_t columns(std::string_view s) {
  std::size_t n = 0;
  for (char c : s)
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  return n;
}

// The first n code points of s.
std::string_view first_columns(std::string_view s, std::size_t n) {
  std::size_t seen = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) {
      if (seen == n) return s.substr(0, i);
      ++seen;
    }
  }
  return s;
}

std::string trimmed(std::string s) {
  const auto first = s.find_first_not_of(' ');
  if (first == std::string::npos) return {};
  return s.substr(first, s.find_last_not_of(' ') - first + 1);
}

}  // namespace

std::string printable(std::string_view text) {
  std::string s(text);
  for (auto& c : s)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  return s;
}

std::string clock_text(std::chrono::steady_clock::duration d) {
  const auto total = std::chrono::duration_cast<std::chrono::seconds>(d).count();
  const long long s = total < 0 ? 0 : total;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%02lld:%02lld:%02lld", s / 3600, s / 60 % 60, s % 60);
  return buf;
}

std::string progress_line(const task_view& v, std::string_view detail, std::size_t width) {
  const std::string head = printable(v.label + " " + v.id) + "  " + printable(v.state);
  const std::string tail = "  " + clock_text(v.elapsed);
  const std::string text = trimmed(printable(detail));
  const std::size_t room = width > 1 ? width - 1 : 0;
  const std::size_t fixed = columns(head) + columns(tail);
  if (text.empty() || fixed + 2 + 4 > room) return head + tail;
  const std::size_t left = room - fixed - 2;
  if (columns(text) <= left) return head + "  " + text + tail;
  return head + "  " + std::string(first_columns(text, left - 1)) + std::string(ellipsis) + tail;
}

progress::progress(std::FILE* out, bool terminal, std::size_t width)
    : out_(out), terminal_(terminal), width_(width) {}

progress progress::on_stderr() {
  const bool terminal = isatty(STDERR_FILENO) == 1;
  std::size_t width = default_width;
  winsize ws{};
  if (terminal && ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) width = ws.ws_col;
  return progress(stderr, terminal, width);
}

void progress::write(const std::string& text) {
  std::fwrite(text.data(), 1, text.size(), out_);
  std::fflush(out_);
}

void progress::show(const task_view& v) {
  if (terminal_) {
    const std::string& detail = v.last_line.empty() ? v.step : v.last_line;
    write("\r" + progress_line(v, detail, width_) + std::string(clear_to_end));
    line_open_ = true;
    return;
  }
  const std::string shown = v.id + "\n" + v.state + "\n" + v.step;
  if (shown == last_shown_) return;
  last_shown_ = shown;
  write(progress_line(v, v.step, plain_width) + "\n");
}

void progress::finish(const task_view& v) {
  if (terminal_) {
    write("\r" + progress_line(v, {}, width_) + std::string(clear_to_end) + "\n");
    line_open_ = false;
    return;
  }
  last_shown_.clear();
  write(progress_line(v, {}, plain_width) + "\n");
}

void progress::close() {
  if (!line_open_) return;
  write("\n");
  line_open_ = false;
}

}  // namespace octomig::cli
