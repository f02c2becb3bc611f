#include "tests/support/sample_events.hpp"

#include <cstdint>
#include <limits>
#include <string>

namespace octomig::testing {

using namespace octomig::events;
using namespace std::string_literals;

std::vector<event_body> sample_events() {
  const std::string odd = "quote \" backslash \\ NUL \0 tab \t \xc3\xa9t\xc3\xa9 \xe2\x82\xac"s;
  const std::string long_text(70000, 'x');  // longer than any small-size length encoding
  return {
      task_queued{"MigrationPartialExport", "Export " + odd, "Spaces-7",
                  R"({"PackageId":"export-1","Projects":["Projects-1"],"Password":"[redacted]"})",
                  std::numeric_limits<std::int64_t>::max()},
      task_queued{"MigrationImport", "", "", "not json at all", 0},
      task_started{"node-\xce\xb1"},
      step_started{"Collect documents"},
      step_finished{"Collect documents", "421 documents in 3 spaces"},
      message_logged{"Verbose", long_text},
      warning_raised{"Project " + odd + " has no lifecycle"},
      task_cancel_requested{"API key ci-robot"},
      task_succeeded{},
      task_failed{"disk full: " + odd},
      task_canceled{},
      task_timed_out{-1},
      task_timed_out{3600000},
      task_interrupted{"The server restarted while the task was executing."},
      task_recorded{"MigrationImport",
                    "Imported from seed",
                    "Spaces-2",
                    "{\"a\":1}",
                    task_status::timed_out,
                    1489999999000000,
                    1490000000123456,
                    std::numeric_limits<std::int64_t>::min(),
                    "limit hit",
                    true,
                    {{"Info", 1490000000123456, "Step 1: " + odd},
                     {"Verbose", std::numeric_limits<std::int64_t>::max(), long_text},
                     {"", 0, ""}}},
      task_recorded{"Deploy", "", "", "", task_status::success, 0, 0, 0, "", false, {}},
      package_built{"Octopus.Space.Migration.1.0.0-abcd1234.zip",
                    std::numeric_limits<std::uint64_t>::max(),
                    "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", true},
      package_built{"", 0, "", false},
      callback_scheduled{"success", "https://hooks.example.com/migrated?token=" + odd},
      callback_scheduled{"failure", ""},
      documents_collected{{{"Projects", 3}, {"Environments" + odd, 0}}, 7, 2},
      documents_collected{{}, 0, 0},
      package_pushed{"https://dest.example/octopus", "Spaces-1",
                     std::numeric_limits<std::uint64_t>::max(), 5, true},
      package_pushed{"", "", 0, 0, false},
      package_published_locally{"Spaces-1", "Octopus.Space.Migration", "1.0.0-abcd1234", 42},
      callback_attempted{"success", 1, 0, "connection refused: " + odd},
      callback_attempted{"failure", std::numeric_limits<std::uint32_t>::max(), 599, ""},
      callback_delivered{"success", 204},
      callback_abandoned{"failure", "no answer after 8 attempts"},
      import_planned{{{"Projects", 3, 0, 1}, {"Channels" + odd, 0, 2, 0}},
                     std::numeric_limits<std::uint64_t>::max(),
                     2,
                     true},
      import_planned{{}, 0, 0, false},
      import_committed{1, 2, 3, std::numeric_limits<std::uint64_t>::max()},
      package_deleted{"Spaces-1", "Octopus.Space.Migration", "1.0.0-" + odd},
      maintenance_entered{""},
      maintenance_entered{"ServerTasks-12"},
      maintenance_left{"ServerTasks-12"},
      api_key_created{"ci-robot", "user",
                      "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"},
      api_key_revoked{"ci-robot"},
  };
}

envelope sample_envelope(event_body body, std::uint64_t position) {
  return envelope{position, "ServerTasks-" + std::to_string(position % 97 + 1),
                  0x0102030405060708ull, 1490043617205123, std::move(body)};
}

}  // namespace octomig::testing
