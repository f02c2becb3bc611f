// The progress display (tools/octomig_output.hpp): the line's layout and cut, the live form on a
// terminal and the plain form, written into memory streams.
#include "tools/octomig_output.hpp"

#include <stdio.h>
#include <stdlib.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <string>

using namespace octomig::cli;
using namespace std::chrono_literals;

namespace {

task_view view(const std::string& state, const std::string& step, const std::string& line) {
  return task_view{"export", "ServerTasks-3", state, step, line, 4s};
}

// A FILE* writing into memory, and what was written once it is closed.
class memory_file {
 public:
  memory_file() : f_(open_memstream(&data_, &size_)) { REQUIRE(f_ != nullptr); }
  ~memory_file() {
    if (f_) fclose(f_);
    free(data_);
  }
  std::FILE* get() { return f_; }
  std::string text() {
    fflush(f_);
    return std::string(data_, size_);
  }

 private:
  char* data_ = nullptr;
  std::size_t size_ = 0;
  std::FILE* f_;
};

}  // namespace

TEST_CASE("the progress line shows the task, its state, a detail and the elapsed time",
          "[output]") {
  CHECK(progress_line(view("Executing", "", ""), "Build package", 80) ==
        "export ServerTasks-3  Executing  Build package  00:00:04");
  CHECK(progress_line(view("Queued", "", ""), "", 80) == "export ServerTasks-3  Queued  00:00:04");
  CHECK(clock_text(3h + 25min + 7s) == "03:25:07");
  CHECK(clock_text(0s) == "00:00:00");
}

TEST_CASE("a long detail is cut with an ellipsis to fit the terminal", "[output]") {
  const std::string detail(200, 'x');
  auto line = progress_line(view("Executing", "", ""), detail, 60);
  CHECK(line.size() - 2 == 59);  // the ellipsis is 3 bytes and one column
  CHECK(line.find("x\xe2\x80\xa6  00:00:04") != std::string::npos);
  // Too narrow for any detail: it is left out.
  CHECK(progress_line(view("Executing", "", ""), detail, 30) ==
        "export ServerTasks-3  Executing  00:00:04");
}

TEST_CASE("server text cannot move the cursor", "[output]") {
  auto line = progress_line(view("Executing", "", ""), "  evil\r\x1b[2J\nline  ", 200);
  CHECK(line == "export ServerTasks-3  Executing  evil  [2J line  00:00:04");
  CHECK(printable("a\tb\x7f") == "a b ");
}

TEST_CASE("on a terminal the line is rewritten in place and ended by the final state", "[output]") {
  memory_file f;
  progress p(f.get(), true, 80);
  p.show(view("Queued", "", ""));
  p.show(view("Executing", "Build package", "Created package x.zip"));
  p.finish(view("Success", "", ""));
  CHECK(f.text() ==
        "\rexport ServerTasks-3  Queued  00:00:04\x1b[K"
        "\rexport ServerTasks-3  Executing  Created package x.zip  00:00:04\x1b[K"
        "\rexport ServerTasks-3  Success  00:00:04\x1b[K\n");
}

TEST_CASE("a live line that is still open is ended before an error", "[output]") {
  memory_file f;
  progress p(f.get(), true, 80);
  p.close();
  CHECK(f.text().empty());
  p.show(view("Executing", "", ""));
  p.close();
  CHECK(f.text() == "\rexport ServerTasks-3  Executing  00:00:04\x1b[K\n");
}

TEST_CASE("without a terminal there is one plain line per change of state or step", "[output]") {
  memory_file f;
  progress p(f.get(), false, 80);
  p.show(view("Queued", "", ""));
  p.show(view("Queued", "", ""));
  p.show(view("Executing", "Collect documents", "line 1"));
  p.show(view("Executing", "Collect documents", "line 2"));
  p.show(view("Executing", "Build package", "line 3"));
  p.finish(view("Success", "", ""));
  CHECK(f.text() ==
        "export ServerTasks-3  Queued  00:00:04\n"
        "export ServerTasks-3  Executing  Collect documents  00:00:04\n"
        "export ServerTasks-3  Executing  Build package  00:00:04\n"
        "export ServerTasks-3  Success  00:00:04\n");
}
