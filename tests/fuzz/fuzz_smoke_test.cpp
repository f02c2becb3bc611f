// Runs every fuzz target over valid seeds and a bounded number of deterministic mutations of
// them, so that the ordinary test suite exercises the parsers with hostile input too.
#include <catch2/catch.hpp>
#include <random>
#include <string>
#include <vector>

#include "events/codec.hpp"
#include "fuzz_targets.hpp"

using namespace octomig;

namespace {

using target_fn = void (*)(const std::uint8_t*, std::size_t);

std::string mutate(const std::string& seed, std::mt19937_64& rng) {
  std::string s = seed;
  int edits = 1 + static_cast<int>(rng() % 8);
  for (int i = 0; i < edits; ++i) {
    switch (rng() % 6) {
      case 0:  // flip a bit
        if (!s.empty()) s[rng() % s.size()] ^= static_cast<char>(1u << (rng() % 8));
        break;
      case 1:  // truncate
        if (!s.empty()) s.resize(rng() % s.size());
        break;
      case 2:  // insert a random byte
        s.insert(s.begin() + static_cast<long>(s.empty() ? 0 : rng() % s.size()),
                 static_cast<char>(rng()));
        break;
      case 3:  // duplicate a slice
        if (!s.empty()) {
          auto at = rng() % s.size();
          s.insert(at, s.substr(at, rng() % 16));
        }
        break;
      case 4:  // interesting byte
        if (!s.empty()) s[rng() % s.size()] = "\0\xff\x7f\r\n:,{}\"%"[rng() % 12];
        break;
      default:  // overwrite 8 bytes with a large number (length fields)
        if (s.size() >= 8) {
          auto at = rng() % (s.size() - 7);
          for (int k = 0; k < 8; ++k) s[at + k] = static_cast<char>(0xff);
        }
    }
  }
  return s;
}

void run(target_fn target, const std::vector<std::string>& seeds, int mutations) {
  std::mt19937_64 rng(20261125);
  for (const auto& s : seeds) target(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
  for (int i = 0; i < mutations; ++i) {
    auto m = mutate(seeds[static_cast<std::size_t>(i) % seeds.size()], rng);
    target(reinterpret_cast<const std::uint8_t*>(m.data()), m.size());
  }
}

}  // namespace

TEST_CASE("the HTTP request parser survives mutated requests", "[fuzz]") {
  run(fuzz::http_request,
      {"GET /api/tasks?skip=0&take=30&ids=ServerTasks-1,ServerTasks-2 HTTP/1.1\r\nHost: x\r\n"
       "X-Octopus-ApiKey: API-ABC\r\n\r\n",
       "POST /api/maintenanceconfiguration?ApiKey=API-X HTTP/1.1\r\nHost: x\r\n"
       "X-HTTP-Method-Override: put\r\nContent-Length: 27\r\n\r\n{\"IsInMaintenanceMode\":true}",
       "POST /api/packages/raw HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
       "5\r\nhello\r\n0\r\n\r\n",
       "GET /api/%53paces-1/tasks/%zz?a+b=c%20d HTTP/1.0\r\n\r\n"},
      20000);
  SUCCEED("no crash, no hang, every property held");
}

TEST_CASE("the lenient JSON parser survives mutated bodies", "[fuzz]") {
  run(fuzz::json_body,
      {"{\"IsInMaintenanceMode\": \"true\", // comment\n}",
       "{\"PackageId\":\"a\",\"IsDryRun\":\"TRUE\",/* c */\"Password\":\"x\",}",
       "[1,2,{\"a\":[null,true,false,1.5e300]}]", "{\"EncryptPackage\":1}"},
      20000);
  SUCCEED("no crash, no hang, every property held");
}

TEST_CASE("the event decoder survives mutated stored bytes", "[fuzz]") {
  std::vector<std::string> seeds;
  seeds.push_back(events::encode(
      events::envelope{1, "ServerTasks-1", 1, 1700000000000000,
                       events::task_queued{"Test", "d", "Spaces-1", "{\"a\":1}", 5}}));
  seeds.push_back(events::encode(events::envelope{
      2, "system", 3, 1, events::api_key_created{"admin", "admin", std::string(64, 'a')}}));
  seeds.push_back(events::encode(events::envelope{
      3, "ServerTasks-2", 2, 2,
      events::task_recorded{"Deploy",
                            "x",
                            "Spaces-1",
                            "{}",
                            events::task_status::success,
                            1,
                            2,
                            3,
                            "",
                            false,
                            {{"Info", 2, "Deploying"}, {"Highlight", 3, "Done"}}}}));
  events::task_state t;
  t.id = "ServerTasks-9";
  t.name = "Test";
  seeds.push_back(events::encode(t));
  seeds.push_back(events::encode(events::log_line{"Info", 5, "hello"}));
  run(fuzz::event_codec, seeds, 20000);
  SUCCEED("no crash, no hang, every property held");
}

TEST_CASE("the date parser survives mutated dates", "[fuzz]") {
  run(fuzz::octopus_date,
      {"2017-03-20T21:00:17.205+00:00", "2026-11-25T14:00:00Z", "1999-12-31T23:59:59.999999-05:30"},
      20000);
  SUCCEED("no crash, no hang, every property held");
}

TEST_CASE("the multipart parser survives mutated uploads and ignores how they are cut", "[fuzz]") {
  run(fuzz::multipart_body,
      {"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"A.1.0.0.zip\"\r\n"
       "Content-Type: application/zip\r\n\r\nPK\r\n--XyZ-not-yet\r\n--XyZ--\r\n",
       "preamble\r\n--XyZ \t\r\nContent-Disposition: form-data; name=a\r\n\r\ntext\r\n--XyZ\r\n"
       "content-disposition: form-data; name=b; filename*=UTF-8''B%2E1.0.0.zip\r\n\r\n\r\n\r\n"
       "--XyZ--",
       "--XyZ\r\n\r\nno headers\r\n--XyZ\r\nContent-Disposition: form-data; filename=\"\"\r\n"
       "\r\nx\r\n--XyZ--\r\n"},
      20000);
  SUCCEED("no crash, no hang, every property held");
}
