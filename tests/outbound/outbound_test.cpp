// Tests of outbound/: the URL helpers as tables, and the push and GET against a scripted HTTP
// receiver on 127.0.0.1 (real sockets, real libcurl). Every error message is checked for the key.
#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <future>
#include <mutex>
#include <string>
#include <vector>

#include "outbound/outbound.hpp"
#include "tests/outbound/receiver.hpp"
#include "tests/support/temp_dir.hpp"

namespace octomig::outbound {
namespace {

using namespace std::chrono_literals;
using outbound_test::answer;
using outbound_test::closed_port;
using outbound_test::early;
using outbound_test::receiver;
using outbound_test::request_seen;

const std::string kKey = "API-OUTBOUNDTESTSECRET0123456789";
const std::string kSha1 = "3f786850e387550fdab836ed7e6dc881de23001b";
const std::string kUpload = "/api/Spaces-1/packages/raw?overwriteMode=FailIfExists";

// Bytes that a careless multipart writer or reader would mangle: NULs, CR LF, dashes.
std::string package_bytes(std::size_t size) {
  std::string out(size, '\0');
  std::uint32_t x = 12345;
  for (std::size_t i = 0; i < size; ++i) {
    x = x * 1103515245u + 12345u;
    out[i] = static_cast<char>(x >> 24);
  }
  if (size >= 16) out.replace(size / 2, 8, "\r\n--\r\n--");
  return out;
}

std::filesystem::path write_file(const testing::temp_dir& dir, const std::string& bytes) {
  auto path = dir / "package.zip";
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<long>(bytes.size()));
  return path;
}

push_request request_to(const std::string& base, const std::filesystem::path& file) {
  push_request r;
  r.base_url = base;
  r.space_id = "Spaces-1";
  r.api_key = kKey;
  r.file = file;
  r.file_name = "Octopus.Space.Migration.1.0.0.zip";
  r.package_id = "Octopus.Space.Migration";
  r.version = "1.0.0";
  r.sha1_hex = kSha1;
  r.first_backoff = 10ms;
  r.connect_timeout = 2s;
  return r;
}

void check_no_secret(const error& e) {
  CHECK(e.message.find(kKey) == std::string::npos);
  CHECK(e.message.find("OUTBOUNDTESTSECRET") == std::string::npos);
}

std::string error_body(const std::string& message) {
  return R"({"ErrorMessage":")" + message + R"(","Errors":[]})";
}

// The single part of a multipart/form-data body: its header block and its content.
struct part {
  std::string headers, content;
};

part only_part(const request_seen& req) {
  std::string type = req.header("content-type");
  auto b = type.find("boundary=");
  REQUIRE(b != std::string::npos);
  std::string boundary = "--" + type.substr(b + 9);
  const std::string& body = req.head;
  REQUIRE(body.rfind(boundary + "\r\n", 0) == 0);
  auto headers_end = body.find("\r\n\r\n");
  REQUIRE(headers_end != std::string::npos);
  std::string closing = "\r\n" + boundary + "--\r\n";
  REQUIRE(body.size() >= headers_end + 4 + closing.size());
  REQUIRE(body.compare(body.size() - closing.size(), closing.size(), closing) == 0);
  return part{body.substr(boundary.size() + 2, headers_end - boundary.size() - 2),
              body.substr(headers_end + 4, body.size() - closing.size() - headers_end - 4)};
}

// ---- URLs
// -----------------------------------------------------------------------------------------

TEST_CASE("is_http_url accepts absolute http and https URLs with a host and nothing else",
          "[url]") {
  for (const char* good : {"http://localhost", "https://octopus.example.com/",
                           "HTTPS://Octopus.Example.com:8443/octopus", "http://127.0.0.1:8080/api",
                           "http://[::1]:8080/", "https://user:pw@host/x?y=1#z",
                           "https://h/cb?TaskId=1&State=Success", "http://my_host.local:65535"}) {
    INFO(good);
    CHECK(is_http_url(good));
  }
  for (const char* bad : {"",
                          "localhost",
                          "octopus.example.com/api",
                          "ftp://h/",
                          "file:///etc/passwd",
                          "http://",
                          "https://",
                          "http:///path",
                          "http:/h",
                          "http//h",
                          "//h/path",
                          "https://h:99999",
                          "https://h:0",
                          "https://h:port",
                          "http://h:",
                          "http://h x/",
                          " http://h",
                          "http://h\n",
                          "http://@/",
                          "http://[::1",
                          "http://[]/",
                          "http://.../",
                          "javascript:alert(1)",
                          "http://h\xc3\xa9.com/",
                          "https://user@:443/"}) {
    INFO(bad);
    CHECK_FALSE(is_http_url(bad));
  }
}

TEST_CASE("redact_url drops userinfo, query and fragment", "[url]") {
  CHECK(redact_url("https://user:pw@h:8443/x/y?apikey=API-X#frag") == "https://h:8443/x/y");
  CHECK(redact_url("http://h/cb?token=secret") == "http://h/cb");
  CHECK(redact_url("http://h/cb#secret") == "http://h/cb");
  CHECK(redact_url("https://token@h") == "https://h");
  CHECK(redact_url("https://h/a@b") == "https://h/a@b");  // an '@' in the path is no userinfo
  CHECK(redact_url("http://h") == "http://h");
  CHECK(redact_url("user:pw@h/x?secret") == "h/x");
  CHECK(redact_url("not a url?secret") == "not a url");
}

TEST_CASE("append_query joins with ? or & and percent-encodes names and values", "[url]") {
  std::vector<std::pair<std::string, std::string>> two{{"TaskId", "ServerTasks-1"},
                                                       {"State", "Success"}};
  CHECK(append_query("http://h/cb", two) == "http://h/cb?TaskId=ServerTasks-1&State=Success");
  CHECK(append_query("http://h/cb?a=1", two) ==
        "http://h/cb?a=1&TaskId=ServerTasks-1&State=Success");
  CHECK(append_query("http://h/cb?", two) == "http://h/cb?TaskId=ServerTasks-1&State=Success");
  CHECK(append_query("http://h/cb?a=1&", two) ==
        "http://h/cb?a=1&TaskId=ServerTasks-1&State=Success");
  CHECK(append_query("http://h/cb#top", {{"x", "1"}}) == "http://h/cb?x=1#top");
  CHECK(append_query("http://h/cb?a=1#top", {{"x", "1"}}) == "http://h/cb?a=1&x=1#top");
  CHECK(append_query("http://h/cb", {{"q", "a b&c+d=e/f"}}) ==
        "http://h/cb?q=a%20b%26c%2Bd%3De%2Ff");
  CHECK(append_query("http://h/cb", {{"na me", "Z\xc3\xbcrich \xe2\x9c\x93"}}) ==
        "http://h/cb?na%20me=Z%C3%BCrich%20%E2%9C%93");
  CHECK(append_query("http://h/cb", {{"safe", "A-z_0.9~"}}) == "http://h/cb?safe=A-z_0.9~");
  CHECK(append_query("http://h/cb?a=1#top", {}) == "http://h/cb?a=1#top");
}

TEST_CASE("feed URLs hang from the same API root whatever the spelling of the base", "[url]") {
  const std::string upload = "https://h/api/Spaces-1/packages/raw?overwriteMode=FailIfExists";
  for (const char* base : {"https://h", "https://h/", "https://h/api", "https://h/api/",
                           "https://h/API", "https://h//"}) {
    INFO(base);
    CHECK(feed_upload_url(base, "Spaces-1") == upload);
  }
  const std::string prefixed =
      "https://h/octopus/api/Spaces-1/packages/raw?overwriteMode=FailIfExists";
  for (const char* base : {"https://h/octopus", "https://h/octopus/", "https://h/octopus/api",
                           "https://h/octopus/api/"}) {
    INFO(base);
    CHECK(feed_upload_url(base, "Spaces-1") == prefixed);
  }
  CHECK(feed_upload_url("https://api", "Spaces-1") ==
        "https://api/api/Spaces-1/packages/raw?overwriteMode=FailIfExists");
  CHECK(feed_upload_url("https://h/rapi", "Spaces-1") ==
        "https://h/rapi/api/Spaces-1/packages/raw?overwriteMode=FailIfExists");
  CHECK(feed_upload_url("http://h:81/", "") ==
        "http://h:81/api/packages/raw?overwriteMode=FailIfExists");
  CHECK(
      feed_package_url("https://h/octopus/api/", "Spaces-1", "Octopus.Space.Migration", "1.0.0") ==
      "https://h/octopus/api/Spaces-1/packages/packages-Octopus.Space.Migration.1.0.0");
  CHECK(feed_package_url("https://h", "Spaces-1", "Pkg", "1.0.0+build 7") ==
        "https://h/api/Spaces-1/packages/packages-Pkg.1.0.0%2Bbuild%207");
}

// ---- push
// -----------------------------------------------------------------------------------------

TEST_CASE("a push sends the file's exact bytes as fileToUpload with the key and overwriteMode",
          "[push]") {
  testing::temp_dir dir("octomig-outbound");
  const std::string bytes = package_bytes(100 * 1024);
  receiver rx({answer(201, R"({"Id":"packages-Octopus.Space.Migration.1.0.0"})")});
  auto pushed = push_package(request_to(rx.base_url() + "/", write_file(dir, bytes)));
  if (!pushed) check_no_secret(pushed.err());
  REQUIRE(pushed.ok());
  CHECK(pushed->http_status == 201);
  CHECK(pushed->attempts == 1);
  CHECK_FALSE(pushed->already_there);

  auto seen = rx.requests();
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].method == "POST");
  CHECK(seen[0].target == kUpload);
  CHECK(seen[0].header("x-octopus-apikey") == kKey);
  CHECK(seen[0].header("content-type").rfind("multipart/form-data; boundary=", 0) == 0);
  CHECK(seen[0].body_bytes == seen[0].head.size());
  part p = only_part(seen[0]);
  CHECK(p.headers.find("Content-Disposition: form-data; name=\"fileToUpload\"; "
                       "filename=\"Octopus.Space.Migration.1.0.0.zip\"") != std::string::npos);
  CHECK(p.headers.find("Content-Type: application/zip") != std::string::npos);
  CHECK(p.content.size() == bytes.size());
  CHECK(p.content == bytes);
}

TEST_CASE("a push retries 503 answers with backoff and succeeds on the third attempt", "[push]") {
  testing::temp_dir dir("octomig-outbound");
  const std::string bytes = package_bytes(4096);
  receiver rx({answer(503), answer(503), answer(201)});
  auto r = request_to(rx.base_url(), write_file(dir, bytes));
  std::vector<std::pair<int, std::string>> retries;
  r.on_retry = [&](int attempt, const std::string& reason) {
    retries.emplace_back(attempt, reason);
  };
  auto pushed = push_package(r);
  REQUIRE(pushed.ok());
  CHECK(pushed->http_status == 201);
  CHECK(pushed->attempts == 3);
  CHECK_FALSE(pushed->already_there);
  REQUIRE(retries.size() == 2);
  CHECK(retries[0] == std::make_pair(1, std::string("answered 503 Service Unavailable")));
  CHECK(retries[1].first == 2);
  auto seen = rx.requests();
  REQUIRE(seen.size() == 3);
  for (const auto& s : seen) CHECK(only_part(s).content == bytes);  // each attempt sends it all
}

TEST_CASE("a push gives up after max_attempts 5xx answers and names the status and count",
          "[push]") {
  testing::temp_dir dir("octomig-outbound");
  receiver rx({answer(500, error_body("Database offline"))});
  auto r = request_to(rx.base_url() + "/api", write_file(dir, package_bytes(1000)));
  r.max_attempts = 3;
  int retries = 0;
  r.on_retry = [&](int, const std::string&) { ++retries; };
  auto pushed = push_package(r);
  REQUIRE_FALSE(pushed.ok());
  CHECK(pushed.err().code == errc::unavailable);
  CHECK(pushed.err().message == "The destination " + rx.base_url() +
                                    "/api/Spaces-1/packages/raw answered 500 after 3 attempts. "
                                    "The destination said: Database offline");
  check_no_secret(pushed.err());
  CHECK(retries == 2);
  CHECK(rx.requests().size() == 3);
}

TEST_CASE("a push to a closed port is retried and then could not be reached", "[push]") {
  testing::temp_dir dir("octomig-outbound");
  closed_port nobody;
  auto r = request_to(nobody.base_url(), write_file(dir, package_bytes(1000)));
  r.max_attempts = 3;
  std::vector<std::string> reasons;
  r.on_retry = [&](int, const std::string& reason) { reasons.push_back(reason); };
  auto pushed = push_package(r);
  REQUIRE_FALSE(pushed.ok());
  CHECK(pushed.err().code == errc::unavailable);
  INFO(pushed.err().message);
  CHECK(pushed.err().message.rfind("The destination " + nobody.base_url() +
                                       "/api/Spaces-1/packages/raw could not be reached after 3 "
                                       "attempts: ",
                                   0) == 0);
  CHECK(pushed.err().message.find("Failed to connect") != std::string::npos);
  CHECK(pushed.err().message.find("overwriteMode") == std::string::npos);  // redacted
  check_no_secret(pushed.err());
  CHECK(reasons.size() == 2);
}

TEST_CASE("401, 403 and 413 end the push at once with a message a user can act on", "[push]") {
  struct refusal {
    int status;
    errc code;
    std::string message;
  };
  auto c = GENERATE(
      refusal{401, errc::forbidden,
              "The destination refused the API key (401 Unauthorized): check DestinationApiKey."},
      refusal{403, errc::forbidden,
              "The destination's API key may not push packages (403 Forbidden)."},
      refusal{413, errc::too_large, "The package is larger than the destination accepts (413)."});
  testing::temp_dir dir("octomig-outbound");
  // A destination that echoes the key back must not get it into our message.
  receiver rx({answer(c.status, error_body("Key " + kKey + " is not valid here"))});
  auto r = request_to(rx.base_url(), write_file(dir, package_bytes(1000)));
  int retries = 0;
  r.on_retry = [&](int, const std::string&) { ++retries; };
  auto pushed = push_package(r);
  REQUIRE_FALSE(pushed.ok());
  CHECK(pushed.err().code == c.code);
  CHECK(pushed.err().message == c.message + " The destination said: Key *** is not valid here");
  check_no_secret(pushed.err());
  CHECK(retries == 0);
  CHECK(rx.requests().size() == 1);
}

TEST_CASE("a 409 on the first attempt fails at once as a conflict", "[push]") {
  testing::temp_dir dir("octomig-outbound");
  receiver rx({answer(409, "not json")});
  auto pushed = push_package(request_to(rx.base_url(), write_file(dir, package_bytes(1000))));
  REQUIRE_FALSE(pushed.ok());
  CHECK(pushed.err().code == errc::conflict);
  CHECK(pushed.err().message ==
        "A package Octopus.Space.Migration 1.0.0 already exists on the destination (409 Conflict): "
        "choose another PackageVersion or delete it there.");
  CHECK(rx.requests().size() == 1);
}

TEST_CASE("a 409 after a 503 is already there when the destination's Hash matches", "[push]") {
  testing::temp_dir dir("octomig-outbound");
  std::string upper = kSha1;
  for (auto& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  receiver rx({answer(503), answer(409),
               answer(200, R"({"PackageId":"Octopus.Space.Migration","Hash":")" + upper + "\"}")});
  auto pushed = push_package(request_to(rx.base_url(), write_file(dir, package_bytes(1000))));
  REQUIRE(pushed.ok());
  CHECK(pushed->already_there);
  CHECK(pushed->attempts == 2);
  CHECK(pushed->http_status == 409);
  auto seen = rx.requests();
  REQUIRE(seen.size() == 3);
  CHECK(seen[2].method == "GET");
  CHECK(seen[2].target == "/api/Spaces-1/packages/packages-Octopus.Space.Migration.1.0.0");
  CHECK(seen[2].header("x-octopus-apikey") == kKey);
}

TEST_CASE("a 409 after a 503 fails when the destination's package has another Hash", "[push]") {
  testing::temp_dir dir("octomig-outbound");
  receiver rx({answer(503), answer(409),
               answer(200, R"({"Hash":"0000000000000000000000000000000000000000"})")});
  auto pushed = push_package(request_to(rx.base_url(), write_file(dir, package_bytes(1000))));
  REQUIRE_FALSE(pushed.ok());
  CHECK(pushed.err().code == errc::conflict);
  CHECK(pushed.err().message ==
        "A package Octopus.Space.Migration 1.0.0 already exists on the destination (409 Conflict "
        "on attempt 2) and its SHA-1 differs from this package's: choose another PackageVersion "
        "or delete it there.");
  CHECK(rx.requests().size() == 3);
}

TEST_CASE("other 4xx and 3xx answers fail at once with the status and the destination's words",
          "[push]") {
  testing::temp_dir dir("octomig-outbound");
  auto file = write_file(dir, package_bytes(1000));
  SECTION("404") {
    receiver rx({answer(404, error_body("No such space"))});
    auto pushed = push_package(request_to(rx.base_url(), file));
    REQUIRE_FALSE(pushed.ok());
    CHECK(pushed.err().code == errc::invalid_argument);
    CHECK(pushed.err().message == "The destination " + rx.base_url() +
                                      "/api/Spaces-1/packages/raw refused the package upload "
                                      "with 404 Not Found. The destination said: No such space");
    CHECK(rx.requests().size() == 1);
  }
  SECTION("a redirect is not followed") {
    receiver rx({answer(302, "{}"), answer(201)});
    auto pushed = push_package(request_to(rx.base_url(), file));
    REQUIRE_FALSE(pushed.ok());
    CHECK(pushed.err().code == errc::invalid_argument);
    CHECK(pushed.err().message.find("302 Found") != std::string::npos);
    CHECK(pushed.err().message.find("redirects are not followed") != std::string::npos);
    CHECK(rx.requests().size() == 1);
  }
  SECTION("a long message is cut to about 300 characters") {
    receiver rx({answer(400, error_body(std::string(2000, 'x')))});
    auto pushed = push_package(request_to(rx.base_url(), file));
    REQUIRE_FALSE(pushed.ok());
    auto said = pushed.err().message.find("The destination said: ");
    REQUIRE(said != std::string::npos);
    CHECK(pushed.err().message.size() - said < 340);
  }
}

TEST_CASE("a hang-up without an answer is retried", "[push]") {
  testing::temp_dir dir("octomig-outbound");
  receiver rx({outbound_test::hang_up(), answer(201)});
  auto r = request_to(rx.base_url(), write_file(dir, package_bytes(1000)));
  std::string reason;
  r.on_retry = [&](int, const std::string& why) { reason = why; };
  auto pushed = push_package(r);
  REQUIRE(pushed.ok());
  CHECK(pushed->attempts == 2);
  CHECK(reason.find("Empty reply") != std::string::npos);
}

TEST_CASE("an attempt with no progress for low_speed_time is abandoned and retried", "[push]") {
  testing::temp_dir dir("octomig-outbound");
  receiver rx({outbound_test::stall(), answer(201)});
  auto r = request_to(rx.base_url(), write_file(dir, package_bytes(1000)));
  r.low_speed_time = 1s;
  std::string reason;
  r.on_retry = [&](int, const std::string& why) { reason = why; };
  auto pushed = push_package(r);
  REQUIRE(pushed.ok());
  CHECK(pushed->attempts == 2);
  CHECK(reason.find("too slow") != std::string::npos);
}

TEST_CASE("a stop during the backoff wait ends the push within a slice", "[push]") {
  testing::temp_dir dir("octomig-outbound");
  receiver rx({answer(503)});
  auto r = request_to(rx.base_url(), write_file(dir, package_bytes(1000)));
  r.first_backoff = 8s;
  std::atomic<bool> stop{false};
  r.stop = &stop;
  std::promise<void> retrying;
  r.on_retry = [&](int, const std::string&) { retrying.set_value(); };
  auto waiting = retrying.get_future();
  auto pushing = std::async(std::launch::async, [&] { return push_package(r); });
  REQUIRE(waiting.wait_for(10s) == std::future_status::ready);
  auto stopped_at = std::chrono::steady_clock::now();
  stop = true;
  REQUIRE(pushing.wait_for(5s) == std::future_status::ready);
  CHECK(std::chrono::steady_clock::now() - stopped_at < 1s);
  auto pushed = pushing.get();
  REQUIRE_FALSE(pushed.ok());
  CHECK(pushed.err().code == errc::unavailable);
  CHECK(pushed.err().message == "stopped");
  CHECK(rx.requests().size() == 1);
}

TEST_CASE("a stop while the destination stalls ends the transfer", "[push]") {
  testing::temp_dir dir("octomig-outbound");
  receiver rx({outbound_test::stall()});
  auto r = request_to(rx.base_url(), write_file(dir, package_bytes(1000)));
  std::atomic<bool> stop{false};
  r.stop = &stop;
  auto pushing = std::async(std::launch::async, [&] { return push_package(r); });
  REQUIRE(rx.wait_for_requests(1, 10s));
  stop = true;
  REQUIRE(pushing.wait_for(5s) == std::future_status::ready);
  auto pushed = pushing.get();
  REQUIRE_FALSE(pushed.ok());
  CHECK(pushed.err().message == "stopped");
}

TEST_CASE("progress reports end with everything sent", "[push]") {
  testing::temp_dir dir("octomig-outbound");
  receiver rx({answer(201)});
  auto r = request_to(rx.base_url(), write_file(dir, package_bytes(300 * 1024)));
  std::vector<std::pair<std::uint64_t, std::uint64_t>> calls;
  r.progress = [&](std::uint64_t sent, std::uint64_t total) { calls.emplace_back(sent, total); };
  REQUIRE(push_package(r).ok());
  REQUIRE_FALSE(calls.empty());
  CHECK(calls.back().first == calls.back().second);
  CHECK(calls.back().second > 300 * 1024);
  CHECK(calls.back().second == rx.requests().at(0).body_bytes);
}

TEST_CASE("a 20 MiB package is streamed from disk, not loaded into memory", "[push]") {
  testing::temp_dir dir("octomig-outbound");
  constexpr std::size_t kSize = 20 << 20;
  auto path = dir / "big.zip";
  {
    std::ofstream out(path, std::ios::binary);
    const std::string chunk = package_bytes(1 << 20);
    for (std::size_t i = 0; i < kSize / chunk.size(); ++i)
      out.write(chunk.data(), static_cast<long>(chunk.size()));
  }
  receiver rx({answer(201)});
  init_curl();  // libcurl's and OpenSSL's own start-up allocations are not the package
  auto before_kib = outbound_test::rss_kib();
  auto pushed = push_package(request_to(rx.base_url(), path));
  REQUIRE(pushed.ok());
  auto seen = rx.requests();
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].body_bytes > kSize);
  CHECK(seen[0].body_bytes < kSize + 1024);
  // The file's last bytes, then the closing boundary.
  const std::string last = package_bytes(1 << 20).substr((1 << 20) - 64);
  CHECK(seen[0].tail.find(last + "\r\n--") != std::string::npos);
  auto peak_kib = rx.peak_rss_kib();
  INFO("RSS before " << before_kib << " KiB, peak during the upload " << peak_kib << " KiB");
  REQUIRE(peak_kib > 0);
  CHECK(peak_kib < before_kib + 8 * 1024);  // far below the file's 20 MiB
}

TEST_CASE("a 413 before the body is sent spares the upload", "[push]") {
  testing::temp_dir dir("octomig-outbound");
  auto path = write_file(dir, package_bytes(8 << 20));  // large enough for Expect: 100-continue
  receiver rx({early(413)});
  auto r = request_to(rx.base_url(), path);
  std::uint64_t last_sent = ~0ull;
  r.progress = [&](std::uint64_t sent, std::uint64_t) { last_sent = sent; };
  auto pushed = push_package(r);
  REQUIRE_FALSE(pushed.ok());
  CHECK(pushed.err().code == errc::too_large);
  auto seen = rx.requests();
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].header("expect") == "100-continue");
  CHECK(last_sent < (1u << 20));
}

TEST_CASE("a push refuses a bad base URL and a missing file before any request", "[push]") {
  testing::temp_dir dir("octomig-outbound");
  receiver rx({answer(201)});
  SECTION("not an http URL") {
    auto r = request_to("ftp://user:hunter2@h/feed?x=1", write_file(dir, "z"));
    auto pushed = push_package(r);
    REQUIRE_FALSE(pushed.ok());
    CHECK(pushed.err().code == errc::invalid_argument);
    CHECK(pushed.err().message.find("hunter2") == std::string::npos);
    CHECK(pushed.err().message.find("ftp://h/feed") != std::string::npos);
  }
  SECTION("no such file") {
    auto pushed = push_package(request_to(rx.base_url(), dir / "missing.zip"));
    REQUIRE_FALSE(pushed.ok());
    CHECK(pushed.err().code == errc::io_error);
    check_no_secret(pushed.err());
  }
  SECTION("a key with a line break") {
    auto r = request_to(rx.base_url(), write_file(dir, "z"));
    r.api_key = kKey + "\r\nX-Injected: 1";
    auto pushed = push_package(r);
    REQUIRE_FALSE(pushed.ok());
    CHECK(pushed.err().code == errc::invalid_argument);
    check_no_secret(pushed.err());
  }
  CHECK(rx.requests().empty());
}

TEST_CASE("a CA file that cannot be loaded fails at once with curl's reason", "[push]") {
  testing::temp_dir dir("octomig-outbound");
  receiver rx({answer(201)});
  auto r = request_to("https://127.0.0.1:" + std::to_string(rx.port()),
                      write_file(dir, package_bytes(1000)));
  r.tls.ca_file = (dir / "no-such-ca.pem").string();
  int retries = 0;
  r.on_retry = [&](int, const std::string&) { ++retries; };
  auto pushed = push_package(r);
  REQUIRE_FALSE(pushed.ok());
  CHECK(pushed.err().code == errc::unavailable);
  INFO(pushed.err().message);
  CHECK(pushed.err().message.rfind("The TLS connection to https://127.0.0.1:", 0) == 0);
  CHECK(pushed.err().message.find("no-such-ca.pem") != std::string::npos);
  CHECK(retries == 0);
  check_no_secret(pushed.err());
}

TEST_CASE("https to a plain HTTP port fails with the TLS reason after the attempts", "[push]") {
  testing::temp_dir dir("octomig-outbound");
  receiver rx({answer(201)});
  auto r = request_to("https://127.0.0.1:" + std::to_string(rx.port()),
                      write_file(dir, package_bytes(1000)));
  r.max_attempts = 2;
  r.connect_timeout = 1s;  // the receiver never answers the TLS hello
  auto pushed = push_package(r);
  REQUIRE_FALSE(pushed.ok());
  INFO(pushed.err().message);
  CHECK(pushed.err().code == errc::unavailable);
  CHECK(pushed.err().message.find("could not be reached after 2 attempts") != std::string::npos);
  CHECK(pushed.err().message.find("SSL") != std::string::npos);
  CHECK(rx.requests().empty());
}

// ---- GET
// ------------------------------------------------------------------------------------------

TEST_CASE("http_get returns any HTTP answer as a status", "[get]") {
  receiver rx({answer(200, "ok"), answer(500, "boom")});
  auto first = http_get(get_request{rx.base_url() + "/cb?TaskId=1", {}, 5s, nullptr, ""});
  REQUIRE(first.ok());
  CHECK(first->http_status == 200);
  CHECK(first->body == "ok");
  auto second = http_get(get_request{rx.base_url() + "/cb", {}, 5s, nullptr, ""});
  REQUIRE(second.ok());
  CHECK(second->http_status == 500);
  auto seen = rx.requests();
  REQUIRE(seen.size() == 2);
  CHECK(seen[0].method == "GET");
  CHECK(seen[0].target == "/cb?TaskId=1");
  CHECK(seen[0].header("x-octopus-apikey").empty());
}

TEST_CASE("http_get does not follow redirects", "[get]") {
  receiver rx({answer(302), answer(200)});
  auto got = http_get(get_request{rx.base_url() + "/cb", {}, 5s, nullptr, ""});
  REQUIRE(got.ok());
  CHECK(got->http_status == 302);
  CHECK(rx.requests().size() == 1);
}

TEST_CASE("http_get to a closed port is an error that shows no query", "[get]") {
  closed_port nobody;
  auto got = http_get(get_request{nobody.base_url() + "/cb?token=s3cret", {}, 5s, nullptr, kKey});
  REQUIRE_FALSE(got.ok());
  CHECK(got.err().code == errc::unavailable);
  INFO(got.err().message);
  CHECK(got.err().message.rfind("GET " + nobody.base_url() + "/cb failed: ", 0) == 0);
  CHECK(got.err().message.find("s3cret") == std::string::npos);
  check_no_secret(got.err());
}

TEST_CASE("http_get gives up at its timeout and ends early on stop", "[get]") {
  SECTION("timeout") {
    receiver rx({outbound_test::stall()});
    auto got = http_get(get_request{rx.base_url() + "/cb", {}, 1s, nullptr, ""});
    REQUIRE_FALSE(got.ok());
    CHECK(got.err().code == errc::unavailable);
    CHECK(got.err().message.find("timed out") != std::string::npos);
  }
  SECTION("stop") {
    receiver rx({outbound_test::stall()});
    std::atomic<bool> stop{false};
    auto getting = std::async(std::launch::async, [&] {
      return http_get(get_request{rx.base_url() + "/cb", {}, 60s, &stop, ""});
    });
    REQUIRE(rx.wait_for_requests(1, 10s));
    stop = true;
    REQUIRE(getting.wait_for(5s) == std::future_status::ready);
    auto got = getting.get();
    REQUIRE_FALSE(got.ok());
    CHECK(got.err().message == "stopped");
  }
  SECTION("not an http URL") {
    auto got = http_get(get_request{"mailto:someone@example.com", {}, 1s, nullptr, ""});
    REQUIRE_FALSE(got.ok());
    CHECK(got.err().code == errc::invalid_argument);
  }
}

}  // namespace
}  // namespace octomig::outbound
