// The steps of a partial export (design §8), each a detached step actor under the supervisor:
//
//   Collect documents   the closure of the named projects from one snapshot of the store
//                       (migration::collect_closure); fact documents_collected
//   Build package       the documents, task records and logs streamed into a package file in the
//                       task's work folder (package::writer); fact package_built
//   Push package        libcurl multipart upload to DestinationPackageFeed (outbound), or a publish
//                       in this server's own feed when there is none; fact package_pushed or
//                       package_published_locally
//
// and the callbacks the request asked for, scheduled with the task's end. The steps hand each
// other the snapshot and the closure through the task's workspace, and the package through facts.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "actors/steps.hpp"
#include "package/package.hpp"
#include "storage/documents.hpp"
#include "storage/store.hpp"

namespace octomig::actors {

struct migration_services {
  storage::store* store = nullptr;                // REQUIRES: outlives every task
  std::shared_ptr<storage::documents> documents;  // reads only: the snapshot comes from it
  std::filesystem::path feed_root;                // this server's feed, for a local publish
  std::string installation_id;
  std::string producer_version;  // octomig's version, which an import must match
  std::string ca_file;           // an extra CA bundle for the push; verification is always on
  package::kdf_limits kdf;       // Default: Argon2id interactive
  int push_attempts = 5;
  std::chrono::milliseconds push_first_backoff{500};
  // Tests only. pause_in_step: the step of that name logs "Paused for a test" and waits for its
  // stop signal, at most pause_for (a crash test kills the server meanwhile; a client test
  // watches the task executing). package_write_limit: the package writer fails with "No space
  // left on device" once it has written this many bytes (0: never).
  std::string pause_in_step;
  std::chrono::milliseconds pause_for{120000};
  std::uint64_t package_write_limit = 0;
};

// The MigrationPartialExport pipeline.
pipeline partial_export_pipeline(std::shared_ptr<const migration_services> services);

}  // namespace octomig::actors
