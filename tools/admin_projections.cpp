// `projections verify` and `projections rebuild`: the read models against a replay of the log,
// and the documents' indexes (references, names) against the documents they are derived from.
#include <iostream>

#include "storage/documents.hpp"
#include "storage/packages.hpp"
#include "tools/admin_commands.hpp"
#include "tools/admin_print.hpp"
#include "tools/admin_store.hpp"

namespace octomig::admin {

status run_projections_verify(const invocation& inv) {
  auto opened = open_for_reading(inv.dir);
  if (!opened) return opened.err();
  auto report = (*opened)->verify_projections();
  if (!report) return report.err();
  std::cout << "replayed " << report->events << " events\n";
  auto index = storage::verify_document_indexes(**opened);
  if (!index) return index.err();
  std::cout << "checked the indexes of " << index->documents << " documents\n";
  report->differences.insert(report->differences.end(), index->differences.begin(),
                             index->differences.end());
  auto feed = storage::verify_feed(**opened, inv.dir.feed());
  if (!feed) return feed.err();
  std::cout << "checked " << feed->packages << " packages of the feed\n";
  report->differences.insert(report->differences.end(), feed->differences.begin(),
                             feed->differences.end());
  for (const auto& d : report->differences)
    std::cout << "difference: " << printable(without_hashes(d)) << '\n';
  if (!report->differences.empty())
    return make_error(
        errc::corruption,
        std::to_string(report->differences.size()) +
            " difference(s) between the read models and the log, the documents or the feed; "
            "stop the server and run 'projections rebuild' (for a damaged package: delete it "
            "and push it again)");
  std::cout << "the read models match the log, the documents and the feed\n";
  return ok_status();
}

status run_projections_rebuild(const invocation& inv) {
  auto opened = open_for_writing(inv.dir);
  if (!opened) return opened.err();
  auto events = (*opened)->rebuild_projections();
  if (!events) return events.err();
  std::cout << "rebuilt the read models from " << *events << " events\n";
  auto documents = storage::rebuild_document_indexes(**opened);
  if (!documents) return documents.err();
  std::cout << "rebuilt the indexes of " << *documents << " documents\n";
  return ok_status();
}

}  // namespace octomig::admin
