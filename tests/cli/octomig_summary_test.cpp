// The import log's summary lines, in the exact forms the import writes (tools/octomig_summary.hpp).
#include "tools/octomig_summary.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

using namespace octomig::cli;
namespace json = boost::json;

namespace {

// Five spaces, the type padded with dots to column 50, then the counts.
std::string collection_line(const std::string& type, const std::string& counts) {
  std::string line = "     " + type;
  while (line.size() < 50) line += '.';
  return line + counts;
}

}  // namespace

TEST_CASE("a dry run's plan is read from its collection lines and its totals line", "[summary]") {
  const std::vector<std::string> log = {
      "Reading package Octopus.Space.Migration 1.0.0-abcdefgh",
      "     Project.........................................create 2, overwrite 0, skip 1",
      collection_line("Environment", "create 0, overwrite 0, skip 2"),
      "Create Project 'Web' (Projects-1 -> Projects-12)",
      "Skip Environment 'Production' (Environments-2): the destination has it (Environments-1)",
      "Totals: create 45, overwrite 0, skip 3, tasks 12 (dry run: nothing was written)",
  };
  auto s = parse_import_log(log, true);
  REQUIRE(s.collections.size() == 2);
  CHECK(s.collections[0].item_type == "Project");
  CHECK(s.collections[0].counts.create == 2);
  CHECK(s.collections[0].counts.overwrite == 0);
  CHECK(s.collections[0].counts.skip == 1);
  CHECK(s.collections[1].item_type == "Environment");
  CHECK(s.collections[1].counts.skip == 2);
  REQUIRE(s.totals);
  CHECK(s.totals->counts.create == 45);
  CHECK(s.totals->counts.overwrite == 0);
  CHECK(s.totals->counts.skip == 3);
  CHECK(s.totals->tasks == 12);

  CHECK(summary_text(s) == log[1] + "\n" + log[2] + "\n" + log[5] + "\n");
  auto j = summary_json(s);
  CHECK(json::serialize(j) ==
        R"({"DryRun":true,"Collections":[{"ItemType":"Project","Create":2,"Overwrite":0,"Skip":1},)"
        R"({"ItemType":"Environment","Create":0,"Overwrite":0,"Skip":2}],)"
        R"("Totals":{"Create":45,"Overwrite":0,"Skip":3,"Tasks":12}})");
}

TEST_CASE("a real import's summary uses the past tense and its JSON keys follow", "[summary]") {
  const std::vector<std::string> log = {
      collection_line("LibraryVariableSet", "created 1, overwritten 2, skipped 3"),
      "Totals: created 45, overwritten 0, skipped 3, tasks 12",
  };
  auto s = parse_import_log(log, false);
  REQUIRE(s.collections.size() == 1);
  CHECK(s.collections[0].item_type == "LibraryVariableSet");
  CHECK(s.collections[0].counts.create == 1);
  CHECK(s.collections[0].counts.overwrite == 2);
  CHECK(s.collections[0].counts.skip == 3);
  REQUIRE(s.totals);
  CHECK(s.totals->counts.create == 45);
  CHECK(s.totals->tasks == 12);
  CHECK(json::serialize(summary_json(s)) ==
        R"({"DryRun":false,"Collections":[{"ItemType":"LibraryVariableSet","Created":1,)"
        R"("Overwritten":2,"Skipped":3}],"Totals":{"Created":45,"Overwritten":0,"Skipped":3,)"
        R"("Tasks":12}})");
}

TEST_CASE("lines of the other form are not counted", "[summary]") {
  const std::vector<std::string> dry = {
      collection_line("Project", "create 2, overwrite 0, skip 1"),
      "Totals: create 45, overwrite 0, skip 3, tasks 12 (dry run: nothing was written)"};
  const std::vector<std::string> real = {
      collection_line("Project", "created 2, overwritten 0, skipped 1"),
      "Totals: created 45, overwritten 0, skipped 3, tasks 12"};
  auto a = parse_import_log(dry, false);
  CHECK(a.collections.empty());
  CHECK_FALSE(a.totals);
  auto b = parse_import_log(real, true);
  CHECK(b.collections.empty());
  CHECK_FALSE(b.totals);
}

TEST_CASE("an item type that reaches column 50 needs no dots", "[summary]") {
  const std::string type(46, 'X');
  auto s = parse_import_log({"     " + type + "create 1, overwrite 2, skip 3"}, true);
  REQUIRE(s.collections.size() == 1);
  CHECK(s.collections[0].item_type == type);
  CHECK(s.collections[0].counts.skip == 3);
}

TEST_CASE("lines that only look like summary lines are not counted", "[summary]") {
  auto s = parse_import_log(
      {
          "     Project......................................12",  // the export's count line
          "    Project.........................................create 2, overwrite 0, skip 1",
          "      Project.......................................create 2, overwrite 0, skip 1",
          "     .............................................create 2, overwrite 0, skip 1",
          "     Project.........................................create 2, overwrite 0, skip 1 more",
          "     Project.........................................create x, overwrite 0, skip 1",
          "Totals: create 1, overwrite 0, skip 3",
          "totals: create 1, overwrite 0, skip 3, tasks 1",
      },
      true);
  CHECK(s.collections.empty());
  CHECK_FALSE(s.totals);
  CHECK(summary_text(s) == "(the task's log has no totals line)\n");
  CHECK(json::serialize(summary_json(s)) == R"({"DryRun":true,"Collections":[],"Totals":null})");
}

TEST_CASE("control characters in summary lines are not passed to the terminal", "[summary]") {
  auto s = parse_import_log({"     Pro\x1b[2Jject....create 1, overwrite 0, skip 0"}, true);
  REQUIRE(s.collections.size() == 1);
  CHECK(summary_text(s).find('\x1b') == std::string::npos);
}
