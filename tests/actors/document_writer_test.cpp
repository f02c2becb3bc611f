// Resource writes through the engine: the gateway's write_document goes through api_ingress to the
// document writer, which applies storage::documents' rules one command at a time.
#include <atomic>
#include <future>
#include <vector>

#include "engine_fixture.hpp"
#include "storage/documents.hpp"

using namespace octomig;
using test::engine_fixture;

namespace {

namespace json = boost::json;

result<json::object> write(engine_fixture& f, storage::document_command cmd) {
  std::promise<result<json::object>> p;
  auto done = p.get_future();
  f.engine->commands().write_document(std::move(cmd),
                                      [&p](result<json::object> r) { p.set_value(std::move(r)); });
  REQUIRE(done.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
  return done.get();
}

storage::document_command create_environment(const std::string& name) {
  return {
      storage::document_op::create, "Spaces-1", "Environments", {}, json::object{{"Name", name}}};
}

}  // namespace

TEST_CASE("document commands are applied by the document writer", "[documents]") {
  engine_fixture f;
  auto created = write(f, create_environment("Production"));
  REQUIRE(created.ok());
  auto id = std::string(created->at("Id").as_string());
  CHECK(id.rfind("Environments-", 0) == 0);

  SECTION("the change is durable and readable through storage") {
    auto master = storage::load_or_create_master_key(f.data);
    REQUIRE(master.ok());
    storage::documents reader(*f.store, *master);
    auto got = reader.get("Spaces-1", "Environments", id);
    REQUIRE(got.ok());
    CHECK(got->at("Name").as_string() == "Production");
  }
  SECTION("replace and remove go the same way") {
    auto replaced = write(f, {storage::document_op::replace, "Spaces-1", "Environments", id,
                              json::object{{"Name", "Prod"}}});
    REQUIRE(replaced.ok());
    CHECK(replaced->at("Name").as_string() == "Prod");
    REQUIRE(write(f, {storage::document_op::remove, "Spaces-1", "Environments", id, {}}).ok());
    auto gone = write(f, {storage::document_op::remove, "Spaces-1", "Environments", id, {}});
    REQUIRE_FALSE(gone.ok());
    CHECK(gone.err().code == errc::not_found);
  }
  SECTION("the rules' refusals come back as errors") {
    auto taken = write(f, create_environment("production"));
    REQUIRE_FALSE(taken.ok());
    CHECK(taken.err().code == errc::invalid_argument);
  }
  SECTION("a command without a type or an id is refused by the ingress") {
    auto no_type = write(f, {storage::document_op::create, "Spaces-1", "", {}, {}});
    REQUIRE_FALSE(no_type.ok());
    CHECK(no_type.err().code == errc::invalid_argument);
    auto no_id = write(f, {storage::document_op::remove, "Spaces-1", "Environments", "", {}});
    REQUIRE_FALSE(no_id.ok());
    CHECK(no_id.err().message == "No id parameter was provided.");
  }
}

TEST_CASE("concurrent creates of one name: exactly one wins", "[documents]") {
  engine_fixture f;
  constexpr int writers = 16;
  std::vector<std::promise<result<json::object>>> promises(writers);
  for (auto& p : promises)
    f.engine->commands().write_document(
        create_environment("Staging"), [&p](result<json::object> r) { p.set_value(std::move(r)); });
  int won = 0, refused = 0;
  for (auto& p : promises) {
    auto fut = p.get_future();
    REQUIRE(fut.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
    auto r = fut.get();
    (r.ok() ? won : refused) += 1;
  }
  CHECK(won == 1);
  CHECK(refused == writers - 1);
}
