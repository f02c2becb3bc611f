// octomig's command line (tools/octomig_args.hpp): the parser, base URLs and where secrets come
// from.
#include "tools/octomig_args.hpp"

#include <stdlib.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

using namespace octomig::cli;

namespace {

invocation parsed(const std::vector<std::string>& args) {
  auto r = parse(args);
  if (auto* bad = std::get_if<usage_error>(&r)) FAIL("usage error: " << bad->message);
  REQUIRE(std::holds_alternative<invocation>(r));
  return std::get<invocation>(r);
}

std::string problem(const std::vector<std::string>& args) {
  auto r = parse(args);
  REQUIRE(std::holds_alternative<usage_error>(r));
  return std::get<usage_error>(r).message;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// A file in the system's temporary directory, removed at the end.
struct temp_file {
  std::filesystem::path path;
  explicit temp_file(const std::string& content) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "octomig-args-XXXXXX").string();
    int fd = mkstemp(tmpl.data());
    REQUIRE(fd >= 0);
    close(fd);
    path = tmpl;
    std::ofstream(path, std::ios::binary) << content;
  }
  ~temp_file() { std::filesystem::remove(path); }
};

// Sets a variable for the scope, then restores what was there.
struct scoped_env {
  std::string name;
  std::string old;
  bool had;
  scoped_env(std::string n, const char* value) : name(std::move(n)) {
    const char* v = getenv(name.c_str());
    had = v != nullptr;
    if (had) old = v;
    if (value)
      setenv(name.c_str(), value, 1);
    else
      unsetenv(name.c_str());
  }
  ~scoped_env() {
    if (had)
      setenv(name.c_str(), old.c_str(), 1);
    else
      unsetenv(name.c_str());
  }
};

}  // namespace

TEST_CASE("migrate takes its URLs, several projects and its flags", "[args]") {
  auto inv = parsed({"migrate", "--source", "http://src:8080/api/", "--dest=https://dst/prefix/",
                     "--project", "Web Portal", "Order API", "--yes", "--project=Inventory",
                     "--timeout", "30"});
  CHECK(inv.command->id == command_id::migrate);
  CHECK(inv.text("--source") == "http://src:8080");
  CHECK(inv.text("--dest") == "https://dst/prefix");
  CHECK(inv.list("--project") == std::vector<std::string>{"Web Portal", "Order API", "Inventory"});
  CHECK(inv.has("--yes"));
  CHECK_FALSE(inv.has("--overwrite"));
  CHECK(inv.seconds("--timeout", std::chrono::seconds(3600)) == std::chrono::seconds(30));
}

TEST_CASE("task commands take a task id", "[args]") {
  auto inv = parsed({"task", "show", "ServerTasks-12", "--server", "http://127.0.0.1:1"});
  CHECK(inv.command->id == command_id::task_show);
  CHECK(inv.positional == "ServerTasks-12");
  CHECK(inv.seconds("--timeout", std::chrono::seconds(3600)) == std::chrono::seconds(3600));
  CHECK(contains(problem({"task", "wait", "12", "--server", "http://h"}), "ServerTasks-12"));
  CHECK(contains(problem({"task", "log", "--server", "http://h"}), "missing ServerTasks-N"));
  CHECK(contains(problem({"task"}), "wait, show or log"));
  CHECK(contains(problem({"task", "frob"}), "unknown task command 'frob'"));
}

TEST_CASE("help and version are requests, not errors", "[args]") {
  auto general = parse({"--help"});
  REQUIRE(std::holds_alternative<help_request>(general));
  CHECK(std::get<help_request>(general).command == nullptr);
  auto one = parse({"import", "-h"});
  REQUIRE(std::holds_alternative<help_request>(one));
  CHECK(std::get<help_request>(one).command->id == command_id::import_package);
  CHECK(std::holds_alternative<version_request>(parse({"--version"})));
  for (const auto& c : command_table()) {
    auto text = command_usage(c);
    CHECK(contains(text, "exit codes:"));
    CHECK(contains(text, "OCTOMIG_PASSWORD"));
  }
}

TEST_CASE("usage errors say what is wrong", "[args]") {
  CHECK(problem({}) == "no command given");
  CHECK(problem({"frobnicate"}) == "unknown command 'frobnicate'");
  CHECK(problem({"export", "--frob"}) == "unknown option --frob");
  CHECK(problem({"export", "--source"}) == "--source needs a value (URL)");
  CHECK(problem({"export", "--source", "http://h"}) == "missing --project NAME...");
  CHECK(problem({"export", "--source", "http://h", "--project", "P", "--encrypt=yes"}) ==
        "--encrypt takes no value");
  CHECK(problem({"export", "--source", "http://h", "--source", "http://i", "--project", "P"}) ==
        "--source is given twice");
  CHECK(contains(problem({"import", "--dest", "ftp://h"}), "http:// or https://"));
  CHECK(contains(problem({"import", "--dest", "http://h/?x=1"}), "without a query"));
  CHECK(contains(problem({"import", "--dest", "http://"}), "names no host"));
  CHECK(
      contains(problem({"task", "wait", "ServerTasks-1", "--server", "http://h", "--timeout", "0"}),
               "seconds from 1"));
  CHECK(problem({"task", "show", "ServerTasks-1", "--server", "http://h", "extra"}) ==
        "unexpected argument 'extra'");
}

TEST_CASE("secrets on the command line are refused without being repeated", "[args]") {
  auto m = problem({"migrate", "--password=hunter2"});
  CHECK(contains(m, "--password-file F"));
  CHECK_FALSE(contains(m, "hunter2"));
  m = problem({"export", "--api-key", "API-SECRET123"});
  CHECK(contains(m, "never taken on the command line"));
  CHECK_FALSE(contains(m, "API-SECRET123"));
  m = problem({"import", "--dest", "http://user:Passw0rd@h"});
  CHECK(contains(m, "credentials"));
  CHECK_FALSE(contains(m, "Passw0rd"));
  m = problem({"task", "show", "ServerTasks-1", "--server", "http://h", "API-SECRET123"});
  CHECK_FALSE(contains(m, "API-SECRET123"));
  m = problem({"export", "--apikey=API-SECRET123"});
  CHECK_FALSE(contains(m, "API-SECRET123"));
}

TEST_CASE("base URLs lose trailing slashes and /api", "[args]") {
  CHECK(normalise_base_url("http://h:8080") == "http://h:8080");
  CHECK(normalise_base_url("http://h:8080/") == "http://h:8080");
  CHECK(normalise_base_url("http://h:8080/api") == "http://h:8080");
  CHECK(normalise_base_url("http://h:8080/API/") == "http://h:8080");
  CHECK(normalise_base_url("https://h/octopus/api") == "https://h/octopus");
  CHECK(normalise_base_url("https://h/apix") == "https://h/apix");
}

TEST_CASE("a secret comes from its file, without one trailing line end, else the environment",
          "[args]") {
  scoped_env first("OCTOMIG_TEST_FIRST", nullptr);
  scoped_env second("OCTOMIG_TEST_SECOND", "API-FROMSECOND");
  temp_file file("API-FROMFILE\n");
  secret_source src{"the test key",
                    file.path.string(),
                    "--key-file",
                    {"OCTOMIG_TEST_FIRST", "OCTOMIG_TEST_SECOND"}};
  auto from_file = load_secret(src);
  REQUIRE(from_file);
  CHECK(from_file->reveal() == "API-FROMFILE");
  temp_file crlf("API-FROMFILE\r\n");
  src.file = crlf.path.string();
  REQUIRE(load_secret(src));
  CHECK(load_secret(src)->reveal() == "API-FROMFILE");
  // Only one line end goes: a password may end in a line end of its own.
  temp_file two("pass word\n\n");
  secret_source pass{"the password", two.path.string(), "--password-file", {}, false};
  REQUIRE(load_secret(pass));
  CHECK(load_secret(pass)->reveal() == "pass word\n");

  src.file.clear();
  auto from_env = load_secret(src);
  REQUIRE(from_env);
  CHECK(from_env->reveal() == "API-FROMSECOND");
}

TEST_CASE("a missing, empty or unreadable secret is a usage error that never shows it", "[args]") {
  scoped_env var("OCTOMIG_TEST_KEY", nullptr);
  secret_source src{"the test key", "", "--key-file", {"OCTOMIG_TEST_KEY"}};
  auto missing = load_secret(src);
  REQUIRE_FALSE(missing);
  CHECK(missing.err().code == exit_code::usage);
  CHECK(contains(missing.err().message, "--key-file F or set OCTOMIG_TEST_KEY"));

  src.file = "/nonexistent/octomig/key";
  auto unreadable = load_secret(src);
  REQUIRE_FALSE(unreadable);
  CHECK(contains(unreadable.err().message, "/nonexistent/octomig/key"));

  temp_file empty("\n");
  src.file = empty.path.string();
  auto blank = load_secret(src);
  REQUIRE_FALSE(blank);
  CHECK(contains(blank.err().message, "is empty"));

  temp_file control(
      "API-AB\x01"
      "CD");
  src.file = control.path.string();
  auto bad = load_secret(src);
  REQUIRE_FALSE(bad);
  CHECK(contains(bad.err().message, "control characters"));
  CHECK_FALSE(contains(bad.err().message, "API-AB"));

  // A password may hold anything but is never empty.
  src.is_api_key = false;
  REQUIRE(load_secret(src));
}
