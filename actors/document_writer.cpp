#include "actors/document_writer.hpp"

#include <memory>

#include "actors/messages.hpp"
#include "storage/documents.hpp"

namespace octomig::actors {
namespace {

caf::behavior writer(caf::event_based_actor*, std::shared_ptr<storage::documents> docs) {
  return {
      [docs](document_atom, storage::document_command& cmd) -> document_reply {
        return docs->execute(cmd);
      },
  };
}

}  // namespace

caf::actor spawn_document_writer(caf::actor_system& sys, storage::store& st,
                                 const std::string& master_key) {
  return sys.spawn<caf::detached>(writer, std::make_shared<storage::documents>(st, master_key));
}

}  // namespace octomig::actors
