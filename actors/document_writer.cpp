#include "actors/document_writer.hpp"

#include <memory>

#include "storage/documents.hpp"

namespace octomig::actors {
namespace {

document_writer_actor::behavior_type writer(document_writer_actor::pointer,
                                            std::shared_ptr<storage::documents> docs) {
  return {
      // A failure reaches the caller, and http logs it with the request's id.
      [docs](document_atom, storage::document_command& cmd) -> document_reply {
        return docs->execute(cmd);
      },
  };
}

}  // namespace

document_writer_actor spawn_document_writer(caf::actor_system& sys,
                                            std::shared_ptr<storage::documents> docs) {
  return sys.spawn<caf::detached>(writer, std::move(docs));
}

}  // namespace octomig::actors
