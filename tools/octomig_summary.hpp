// The summary of an import task's log: the lines the import writes while it plans, one per
// collection, and its totals line. Two forms, a dry run's and a real import's:
//
//   "     Project.........................................create 2, overwrite 0, skip 1"
//   "Totals: create 45, overwrite 0, skip 3, tasks 12 (dry run: nothing was written)"
//
//   "     Project.........................................created 2, overwritten 0, skipped 1"
//   "Totals: created 45, overwritten 0, skipped 3, tasks 12"
//
// A collection line is five spaces, the item type padded with dots (to column 50), then the three
// counts to the end of the line; the totals line may go on after its tasks count. Every other
// line (per-document lines such as "Create Project 'Web' (Projects-1 -> Projects-12)") is not
// part of the summary.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace octomig::cli {

struct import_counts {
  std::uint64_t create = 0;     // created, in a real import
  std::uint64_t overwrite = 0;  // overwritten
  std::uint64_t skip = 0;       // skipped
};

struct collection_summary {
  std::string item_type;  // "Project"
  import_counts counts;
  std::string line;  // the log line as written
};

struct import_totals {
  import_counts counts;
  std::uint64_t tasks = 0;
  std::string line;  // the log line as written
};

struct import_summary {
  bool dry_run = false;
  std::vector<collection_summary> collections;  // in the log's order
  std::optional<import_totals> totals;          // empty when the log has no totals line
};

// Reads the lines (MessageText of each log element, in order) in the form the import writes when
// dry_run is (or is not) set; lines of the other form are not counted.
import_summary parse_import_log(const std::vector<std::string>& lines, bool dry_run);

// The summary's lines as the log wrote them (control characters replaced), each ending in '\n'.
std::string summary_text(const import_summary& s);

// {"DryRun", "Collections": [{"ItemType","Create","Overwrite","Skip"}...], "Totals": {...} or
// null}; a real import's keys are "Created", "Overwritten", "Skipped".
boost::json::object summary_json(const import_summary& s);

}  // namespace octomig::cli
