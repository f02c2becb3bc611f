// Atoms and message types exchanged by the engine's actors. All of them stay inside one process
// (the engine is not distributed yet, see the design's last section), so they are allowed as
// unsafe message types instead of being given serializers.
#pragma once

#include <caf/all.hpp>

#include "actors/gateway.hpp"
#include "events/error.hpp"
#include "events/task_state.hpp"
#include "storage/documents.hpp"
#include "storage/store.hpp"

namespace octomig::actors {

using append_atom = caf::atom_constant<caf::atom("append")>;
using stop_atom = caf::atom_constant<caf::atom("stop")>;
using queue_atom = caf::atom_constant<caf::atom("queue")>;
using cancel_atom = caf::atom_constant<caf::atom("cancel")>;
using timeout_atom = caf::atom_constant<caf::atom("timeout")>;
using recover_atom = caf::atom_constant<caf::atom("recover")>;
using enter_atom = caf::atom_constant<caf::atom("enter")>;
using leave_atom = caf::atom_constant<caf::atom("leave")>;
using set_atom = caf::atom_constant<caf::atom("set")>;
using run_atom = caf::atom_constant<caf::atom("run")>;
using log_atom = caf::atom_constant<caf::atom("log")>;
using warn_atom = caf::atom_constant<caf::atom("warn")>;
using document_atom = caf::atom_constant<caf::atom("document")>;

using append_reply = result<storage::appended>;
using task_reply = result<events::task_state>;
using maintenance_reply = result<storage::maintenance_state>;
using document_reply = result<boost::json::object>;

}  // namespace octomig::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(octomig::storage::append_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(octomig::actors::append_reply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(octomig::actors::task_reply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(octomig::actors::maintenance_reply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(octomig::actors::queue_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(octomig::storage::document_command)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(octomig::actors::document_reply)
