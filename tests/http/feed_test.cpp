// The built-in package feed (http/feed_routes.cpp, the server's streamed uploads) over real HTTP:
// every multipart dialect of contract §4.2, the overwrite modes, the error cases, and what is left
// on disk after failed or interrupted uploads.
#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <optional>
#include <thread>

#include "storage/packages.hpp"
#include "tests/http/server_fixture.hpp"

namespace octomig::http_test {
namespace {

namespace fs = std::filesystem;

const char* exists_message =
    "A package with the same ID and version already exists. To proceed anyway, specify an "
    "overwriteMode of OverwriteExisting or IgnoreIfExists.";
const char* no_file_message = "A package file must be provided";
const char* empty_message =
    "The uploaded package file had length equal to 0. Please upload a non-empty file.";

// A multipart body with one part per (disposition, content) pair, as a client would write it.
std::string multipart(const std::string& boundary,
                      const std::vector<std::pair<std::string, std::string>>& parts,
                      const std::string& part_type = "application/octet-stream") {
  std::string body;
  for (const auto& [disposition, content] : parts) {
    body += "--" + boundary + "\r\nContent-Disposition: " + disposition + "\r\n";
    if (!part_type.empty()) body += "Content-Type: " + part_type + "\r\n";
    body += "\r\n" + content + "\r\n";
  }
  return body + "--" + boundary + "--\r\n";
}

std::string file_part(const std::string& name) {
  return "form-data; name=\"file\"; filename=\"" + name + "\"";
}

http_reply push(server_fixture& f, const std::string& target, const std::string& key,
                const std::string& body, const std::string& boundary = "XyZ-boundary") {
  return f.client().post(target, key, body,
                         {"Content-Type: multipart/form-data; boundary=" + boundary});
}

http_reply push_file(server_fixture& f, const std::string& name, const std::string& content,
                     const std::string& query = "", const std::string& key = "") {
  return push(f, "/api/packages/raw" + query, key.empty() ? f.admin_key : key,
              multipart("XyZ-boundary", {{file_part(name), content}}));
}

// Every test's content is distinct per push, so a byte comparison tells which push won.
std::string bytes(std::size_t n, char seed) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i)
    s[i] = static_cast<char>(seed + static_cast<char>(i * 31 % 251));
  return s;
}

std::size_t files_in(const fs::path& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) return 0;
  return static_cast<std::size_t>(
      std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}

fs::path incoming(server_fixture& f) {
  return storage::incoming_dir(fs::path(f.data_dir()) / "feed");
}
fs::path space_dir(server_fixture& f) {
  return fs::path(f.data_dir()) / "feed" / "Spaces-1";
}

// The feed holds nothing: no index row, no package file, no temporary file.
void require_empty_feed(server_fixture& f) {
  f.eventually("the upload's temporary file is removed",
               [&] { return files_in(incoming(f)) == 0; });
  CHECK(files_in(space_dir(f)) == 0);
  auto rows = storage::list_packages(f.store(), "Spaces-1");
  REQUIRE(rows.ok());
  CHECK(rows->empty());
}

std::string first_error(const http_reply& r) {
  auto o = r.object();
  REQUIRE(o.at("Errors").is_array());
  REQUIRE_FALSE(o.at("Errors").get_array().empty());
  return std::string(o.at("Errors").get_array()[0].get_string());
}

// ---- libcurl for what http_client does not do: chunked bodies and curl's own -F ----

std::size_t collect(char* data, std::size_t size, std::size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

struct chunk_source {
  const std::string* body;
  std::size_t pos = 0;
};

// Hands the body out in small pieces so that it crosses many chunks.
std::size_t read_piece(char* buf, std::size_t size, std::size_t n, void* arg) {
  auto* s = static_cast<chunk_source*>(arg);
  std::size_t k = std::min({size * n, s->body->size() - s->pos, std::size_t(7001)});
  std::copy_n(s->body->data() + s->pos, k, buf);
  s->pos += k;
  return k;
}

http_reply curl_post(server_fixture& f, const std::string& target, const std::string& key,
                     const std::string* chunked_body, const std::string& content_type,
                     curl_mime* mime) {
  CURL* c = curl_easy_init();
  REQUIRE(c);
  http_reply reply;
  std::string url = "http://127.0.0.1:" + std::to_string(f.port()) + target;
  curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, ("X-Octopus-ApiKey: " + key).c_str());
  headers = curl_slist_append(headers, "Accept: application/json");
  chunk_source src{chunked_body};
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &collect);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &reply.body);
  if (mime) {
    curl_easy_setopt(c, CURLOPT_MIMEPOST, mime);
  } else {
    headers = curl_slist_append(headers, "Transfer-Encoding: chunked");
    headers = curl_slist_append(headers, ("Content-Type: " + content_type).c_str());
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, &read_piece);
    curl_easy_setopt(c, CURLOPT_READDATA, &src);
  }
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  CURLcode rc = curl_easy_perform(c);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &reply.status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(c);
  INFO("POST " << target);
  REQUIRE(rc == CURLE_OK);
  return reply;
}

// A raw socket for the client that goes away mid-upload.
int connect_to(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  return fd;
}

void send_all(int fd, const std::string& data) {
  std::size_t done = 0;
  while (done < data.size()) {
    auto n = ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    REQUIRE(n > 0);
    done += static_cast<std::size_t>(n);
  }
}

}  // namespace

TEST_CASE("a pushed package is created with its size and SHA-1 and can be read back", "[feed]") {
  server_fixture f;
  auto content = bytes(5000, 'a');
  auto r = push_file(f, "Foo.1.0.0.zip", content);
  REQUIRE(r.status == 201);
  auto o = r.object();
  CHECK(str(o, "Id") == "packages-Foo.1.0.0");
  CHECK(str(o, "PackageId") == "Foo");
  CHECK(str(o, "NuGetPackageId") == "Foo");
  CHECK(str(o, "Version") == "1.0.0");
  CHECK(str(o, "Title") == "Foo");
  CHECK(str(o, "FileExtension") == ".zip");
  CHECK(str(o, "FeedId") == "feeds-builtin");
  CHECK(integer(o, "PackageSizeBytes") == 5000);
  CHECK(str(o, "Hash").size() == 40);
  CHECK(str(o, "Published").size() == std::string("2017-03-20T21:00:17.205+00:00").size());
  auto links = o.at("Links").get_object();
  CHECK(str(links, "Self") == "/api/Spaces-1/packages/packages-Foo.1.0.0");
  CHECK(str(links, "Raw") == "/api/Spaces-1/packages/packages-Foo.1.0.0/raw");

  SECTION("get answers with and without the packages- prefix, in every route form") {
    for (const char* target :
         {"/api/packages/packages-Foo.1.0.0", "/api/packages/Foo.1.0.0",
          "/api/Spaces-1/packages/Foo.1.0.0", "/api/spaces/Spaces-1/packages/packages-Foo.1.0.0",
          "/api/packages/foo.1.0.0"}) {
      INFO(target);
      auto g = f.client().get(target, f.user_key);
      REQUIRE(g.status == 200);
      CHECK(str(g.object(), "Hash") == str(o, "Hash"));
    }
  }
  SECTION("raw streams the exact bytes as application/octet-stream") {
    auto raw = f.client().get(str(links, "Raw"), f.user_key);
    REQUIRE(raw.status == 200);
    CHECK(raw.header("content-type") == "application/octet-stream");
    CHECK(raw.body == content);
    CHECK(f.client().get("/api/packages/Foo.1.0.0/raw", f.user_key).body == content);
  }
  SECTION("an absent package is 404, and its raw form 400 as Octopus answers") {
    auto g = f.client().get("/api/packages/packages-Foo.9.9.9", f.user_key);
    CHECK(g.status == 404);
    CHECK(error_message(g) == "The resource you requested was not found.");
    auto raw = f.client().get("/api/packages/Foo.9.9.9/raw", f.user_key);
    CHECK(raw.status == 400);
    CHECK(first_error(raw) ==
          "Package was not found in the index of the built-in package repository.");
    CHECK(f.client().get("/api/Spaces-2/packages/Foo.1.0.0", f.user_key).status == 404);
  }
  SECTION("delete needs an admin key, then removes the package and its file") {
    auto refused = f.client().send(
        {"DELETE", "/api/packages/packages-Foo.1.0.0", {key_header(f.user_key)}, {}});
    CHECK(refused.status == 403);
    auto d = f.client().send(
        {"DELETE", "/api/packages/packages-Foo.1.0.0", {key_header(f.admin_key)}, {}});
    CHECK(d.status == 200);
    CHECK(f.client().get("/api/packages/Foo.1.0.0", f.user_key).status == 404);
    CHECK(f.client()
              .send({"DELETE", "/api/packages/Foo.1.0.0", {key_header(f.admin_key)}, {}})
              .status == 404);
    require_empty_feed(f);
  }
  SECTION("delete also works as POST with X-HTTP-Method-Override, without the prefix") {
    auto d = f.client().post("/api/Spaces-1/packages/Foo.1.0.0", f.admin_key, std::string(),
                             {"X-HTTP-Method-Override: DELETE"});
    CHECK(d.status == 200);
    require_empty_feed(f);
  }
}

TEST_CASE("every client's multipart dialect is accepted", "[feed]") {
  server_fixture f;
  struct dialect {
    const char* who;
    std::string target;
    std::string content_type;
    std::string body;
  };
  auto c = bytes(300, 'q');
  std::vector<dialect> dialects{
      {"api-client", "/api/Spaces-1/packages/raw?overwriteMode=FailIfExists",
       "multipart/form-data; boundary=--------------------------123456789012345678901234",
       multipart("--------------------------123456789012345678901234",
                 {{"form-data; name=\"fileToUpload\"; filename=\"Api.Client.1.0.0.zip\"", c}},
                 "application/zip")},
      {"octopackjs", "/api/packages/raw", "multipart/form-data; boundary=----octo",
       multipart("----octo",
                 {{"form-data; name=\"file\"; filename=\"Octopack.1.0.0.tar.gz\"", c}})},
      {"Octopus.Client async (.NET, unquoted with filename*)",
       "/api/Spaces-1/packages/raw?overwriteMode=FailIfExists",
       "multipart/form-data; boundary=\"5f1d-net-boundary\"",
       multipart(
           "5f1d-net-boundary",
           {{"form-data; name=file; filename=Dotnet.1.0.0.zip; filename*=utf-8''Dotnet.1.0.0.zip",
             c}})},
      {"OctopusDeploy-Api PushPackage.ps1", "/api/Spaces-1/packages/raw?replace=false",
       "multipart/form-data; boundary=ps1",
       multipart("ps1", {{"form-data; name=\"fileData\"; filename=\"Ps1.Script.2.0.0.nupkg\"", c}},
                 "multipart/form-data")},
      {"filename* only, percent-encoded", "/api/packages/raw", "multipart/form-data;boundary=b",
       multipart("b", {{"form-data; name=x; filename*=UTF-8''Encoded%2EName.1.0.0.zip", c}})},
      {"a text field before the file, a Windows path, upper-case header names", "/api/packages/raw",
       "Multipart/Form-Data; Boundary=zz",
       "preamble to ignore\r\n--zz\r\nCONTENT-DISPOSITION: form-data; name=\"note\"\r\n\r\nnot a "
       "file\r\n"
       "--zz\r\nContent-Disposition: form-data; name=\"pkg\"; "
       "filename=\"C:\\build\\Win.Path.3.0.0.zip\"\r\n\r\n" +
           c + "\r\n--zz--\r\n"},
  };
  for (const auto& d : dialects) {
    INFO(d.who);
    auto r = f.client().post(d.target, f.user_key, d.body, {"Content-Type: " + d.content_type});
    INFO(r.body);
    CHECK(r.status == 201);
    if (r.status == 201) CHECK(integer(r.object(), "PackageSizeBytes") == 300);
  }
  auto list = f.client().get("/api/packages?take=100", f.user_key).object();
  CHECK(integer(list, "TotalResults") == static_cast<std::int64_t>(dialects.size()));

  SECTION("curl -F data=@file, as the docs push") {
    auto* mime = curl_mime_init(nullptr);
    auto* part = curl_mime_addpart(mime);
    curl_mime_name(part, "data");
    curl_mime_filename(part, "Demo.1.0.0.zip");
    curl_mime_data(part, c.data(), c.size());
    auto r = curl_post(f, "/api/packages/raw", f.user_key, nullptr, "", mime);
    curl_mime_free(mime);
    CHECK(r.status == 201);
    CHECK(f.client().get("/api/packages/Demo.1.0.0/raw", f.user_key).body == c);
  }
  SECTION("Octopus.Client sync: chunked, unquoted parameters, a ticks boundary") {
    std::string boundary = "----------------------------8dc1a2b3c4d5e6f";
    auto big = bytes(300000, 'z');  // many chunks, and a body larger than one read buffer
    auto body = "--" + boundary +
                "\r\nContent-Disposition: form-data; name=file; filename=Sync.Client.4.0.0.zip\r\n"
                "Content-Type: application/octet-stream\r\n\r\n" +
                big + "\r\n--" + boundary + "--\r\n";
    auto r = curl_post(f, "/api/Spaces-1/packages/raw?replace=False", f.user_key, &body,
                       "multipart/form-data; boundary=" + boundary, nullptr);
    REQUIRE(r.status == 201);
    CHECK(f.client().get("/api/packages/Sync.Client.4.0.0/raw", f.user_key).body == big);
  }
}

TEST_CASE("a duplicate follows overwriteMode and replace", "[feed]") {
  server_fixture f;
  auto first = bytes(100, '1');
  REQUIRE(push_file(f, "Dup.1.0.0.zip", first).status == 201);
  auto stored = [&] { return f.client().get("/api/packages/Dup.1.0.0/raw", f.user_key).body; };

  SECTION("FailIfExists, the default, and replace=false answer 409 with Octopus's text") {
    for (const char* q :
         {"", "?overwriteMode=FailIfExists", "?replace=false", "?overwritemode=failifexists"}) {
      INFO(q);
      auto r = push_file(f, "Dup.1.0.0.zip", bytes(50, '2'), q);
      CHECK(r.status == 409);
      CHECK(first_error(r) == exists_message);
    }
    CHECK(stored() == first);
  }
  SECTION("IgnoreIfExists answers 200 with the existing package and keeps it") {
    auto r =
        push_file(f, "Dup.1.0.0.zip", bytes(50, '2'), "?overwriteMode=ignoreIfExists", f.user_key);
    CHECK(r.status == 200);
    CHECK(integer(r.object(), "PackageSizeBytes") == 100);
    CHECK(stored() == first);
  }
  SECTION("OverwriteExisting and replace=true replace it (201) for an admin") {
    auto second = bytes(60, '3');
    auto r = push_file(f, "Dup.1.0.0.zip", second, "?overwriteMode=OVERWRITEEXISTING");
    CHECK(r.status == 201);
    CHECK(integer(r.object(), "PackageSizeBytes") == 60);
    CHECK(stored() == second);
    auto third = bytes(70, '4');
    CHECK(push_file(f, "Dup.1.0.0.zip", third, "?replace=True").status == 201);
    CHECK(stored() == third);
    CHECK(integer(f.client().get("/api/packages", f.user_key).object(), "TotalResults") == 1);
  }
  SECTION("a user key may push but not replace") {
    auto r = push_file(f, "Dup.1.0.0.zip", bytes(50, '2'), "?overwriteMode=OverwriteExisting",
                       f.user_key);
    CHECK(r.status == 403);
    CHECK(stored() == first);
    CHECK(push_file(f, "Dup.2.0.0.zip", bytes(50, '2'), "?overwriteMode=OverwriteExisting",
                    f.user_key)
              .status == 201);
  }
  SECTION("an unknown overwriteMode is a 400") {
    CHECK(push_file(f, "Dup.1.0.0.zip", first, "?overwriteMode=Sometimes").status == 400);
  }
  CHECK(files_in(incoming(f)) == 0);
}

TEST_CASE("uploads that carry no usable package are refused with Octopus's messages", "[feed]") {
  server_fixture f;
  SECTION("an empty file") {
    auto r = push_file(f, "Empty.1.0.0.zip", "");
    CHECK(r.status == 400);
    CHECK(first_error(r) == empty_message);
  }
  SECTION("no part with a file name") {
    auto r = push(f, "/api/packages/raw", f.admin_key,
                  multipart("XyZ-boundary", {{"form-data; name=\"file\"", "not a file"}}));
    CHECK(r.status == 400);
    CHECK(first_error(r) == no_file_message);
    auto empty_name =
        push(f, "/api/packages/raw", f.admin_key,
             multipart("XyZ-boundary", {{"form-data; name=\"file\"; filename=\"\"", "x"}}));
    CHECK(first_error(empty_name) == no_file_message);
  }
  SECTION("a body that is not multipart at all") {
    auto r = f.client().post("/api/packages/raw", f.admin_key, std::string("{}"));
    CHECK(r.status == 400);
    CHECK(first_error(r) == no_file_message);
  }
  SECTION("a file name that is not <PackageId>.<Version><extension>") {
    for (const char* name : {"NoVersion.zip", "Foo.1.0.0.exe", "Foo bar.1.0.0.zip"}) {
      INFO(name);
      auto r = push_file(f, name, "x");
      CHECK(r.status == 400);
      CHECK(first_error(r).find("is not valid") != std::string::npos);
    }
  }
  SECTION("a package id that is too long") {
    auto r = push_file(f, std::string(120, 'L') + ".1.0.0.zip", "x");
    CHECK(r.status == 400);
    CHECK(first_error(r) == "Package Name is too long.");
  }
  SECTION("a body cut before the closing boundary") {
    auto body = "--XyZ-boundary\r\nContent-Disposition: " + file_part("Cut.1.0.0.zip") +
                "\r\n\r\nsome bytes";
    auto r = push(f, "/api/packages/raw", f.admin_key, body);
    CHECK(r.status == 400);
  }
  require_empty_feed(f);
}

TEST_CASE("uploads are refused before their body is read", "[feed]") {
  server_fixture f;
  auto body = multipart("XyZ-boundary", {{file_part("Early.1.0.0.zip"), bytes(1000, 'e')}});
  SECTION("without a key: 401") {
    auto r = push(f, "/api/packages/raw", "", body);
    CHECK(r.status == 401);
    CHECK(error_message(r).find("You must be logged in") == 0);
    auto bad = push(f, "/api/packages/raw", "API-NOTAKEY", body);
    CHECK(bad.status == 401);
    require_empty_feed(f);
  }
  SECTION("a user key in maintenance mode: 503; an admin key still pushes") {
    REQUIRE(
        f.client()
            .put("/api/maintenanceconfiguration", f.admin_key, R"({"IsInMaintenanceMode":true})")
            .status == 200);
    auto r = push(f, "/api/packages/raw", f.user_key, body);
    CHECK(r.status == 503);
    CHECK(error_message(r) ==
          "The Octopus Server is currently in maintenance mode. Only administrators can make "
          "changes.");
    CHECK(push(f, "/api/packages/raw", f.admin_key, body).status == 201);
  }
}

TEST_CASE("an upload over the size limit gets 413 and leaves nothing behind", "[feed]") {
  fixture_options o;
  o.max_upload_bytes = 64 * 1024;
  server_fixture f(o);
  auto body = multipart("XyZ-boundary", {{file_part("Big.1.0.0.zip"), bytes(100 * 1024, 'b')}});
  SECTION("with a Content-Length: refused from the header") {
    auto r = push(f, "/api/packages/raw", f.admin_key, body);
    CHECK(r.status == 413);
    CHECK(error_message(r) == "The request body is too large.");
  }
  SECTION("chunked: refused when the limit is crossed") {
    auto r = curl_post(f, "/api/packages/raw", f.admin_key, &body,
                       "multipart/form-data; boundary=XyZ-boundary", nullptr);
    CHECK(r.status == 413);
  }
  require_empty_feed(f);
  // Under the limit still works, on a fresh connection.
  CHECK(push_file(f, "Small.1.0.0.zip", bytes(1000, 's')).status == 201);
}

TEST_CASE("a client that disconnects mid-upload leaves nothing in the feed or on disk", "[feed]") {
  server_fixture f;
  int fd = connect_to(f.port());
  std::string head =
      "POST /api/packages/raw HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Octopus-ApiKey: " + f.admin_key +
      "\r\nContent-Type: multipart/form-data; boundary=XyZ-boundary\r\n"
      "Content-Length: 10000000\r\n\r\n";
  send_all(fd, head + "--XyZ-boundary\r\nContent-Disposition: " + file_part("Gone.1.0.0.zip") +
                   "\r\n\r\n" + bytes(200000, 'g'));
  // The server is receiving into its temporary file; then the client goes away.
  f.eventually("the upload's temporary file exists", [&] { return files_in(incoming(f)) == 1; });
  ::close(fd);
  require_empty_feed(f);
  CHECK(f.client().get("/api/packages/Gone.1.0.0", f.admin_key).status == 404);
}

TEST_CASE("the package list filters, keeps the latest and pages", "[feed]") {
  server_fixture f;
  for (const char* name : {"Alpha.1.0.0.zip", "Alpha.1.10.0.zip", "Alpha.1.2.0.zip",
                           "Alpha.2.0.0-beta.zip", "Beta.Web.1.0.0.zip", "Gamma.0.1.0.tgz"})
    REQUIRE(push_file(f, name, std::string(name)).status == 201);
  auto ids = [](const json::object& o) {
    std::vector<std::string> out;
    for (const auto& i : o.at("Items").get_array()) out.push_back(str(i.get_object(), "Id"));
    return out;
  };

  auto all = f.client().get("/api/packages", f.user_key).object();
  CHECK(str(all, "ItemType") == "PackageFromBuiltInFeed");
  CHECK(integer(all, "TotalResults") == 6);
  CHECK(ids(all) == std::vector<std::string>{"packages-Alpha.2.0.0-beta", "packages-Alpha.1.10.0",
                                             "packages-Alpha.1.2.0", "packages-Alpha.1.0.0",
                                             "packages-Beta.Web.1.0.0", "packages-Gamma.0.1.0"});
  CHECK(str(all.at("Links").get_object(), "Template")
            .rfind("/api/packages{/id}{?nuGetPackageId,filter,latest", 0) == 0);

  auto latest = f.client().get("/api/Spaces-1/packages?latest=true", f.user_key).object();
  CHECK(ids(latest) == std::vector<std::string>{"packages-Alpha.2.0.0-beta",
                                                "packages-Beta.Web.1.0.0", "packages-Gamma.0.1.0"});
  auto nuget =
      f.client().get("/api/packages?nuGetPackageId=alpha&skip=1&take=2", f.user_key).object();
  CHECK(integer(nuget, "TotalResults") == 4);
  CHECK(ids(nuget) == std::vector<std::string>{"packages-Alpha.1.10.0", "packages-Alpha.1.2.0"});
  auto filter = f.client().get("/api/packages?filter=web", f.user_key).object();
  CHECK(ids(filter) == std::vector<std::string>{"packages-Beta.Web.1.0.0"});
  auto both = f.client().get("/api/packages?filter=a&nuGetPackageId=Alpha", f.user_key);
  CHECK(both.status == 400);
  CHECK(first_error(both) == "Only one of either nuGetPackageId or filter may be specified.");
}

TEST_CASE("the root document and the space root link the feed", "[feed]") {
  server_fixture f;
  auto links = f.client().get("/api").object().at("Links").get_object();
  CHECK(str(links, "PackageUpload").find("overwriteMode") != std::string::npos);
  CHECK(str(links, "PackageUpload").rfind("/api/Spaces-1/packages/raw", 0) == 0);
  CHECK(str(links, "Packages").rfind("/api/Spaces-1/packages{/id}", 0) == 0);
  auto space = f.client().get("/api/Spaces-1", f.user_key).object().at("Links").get_object();
  CHECK(str(space, "PackageUpload").find("overwriteMode") != std::string::npos);
  CHECK(str(space, "Packages").rfind("/api/Spaces-1/packages{/id}", 0) == 0);
}

// Holds every publish at its pause until the test lets them go (bounded, so that a failing test
// cannot hang the run).
struct publish_latch {
  std::mutex mu;
  std::condition_variable cv;
  std::size_t paused = 0;
  bool open = false;

  storage::publish_faults faults() {
    storage::publish_faults f;
    f.pause = [this] {
      std::unique_lock<std::mutex> lock(mu);
      ++paused;
      cv.notify_all();
      cv.wait_for(lock, std::chrono::seconds(20), [this] { return open; });
    };
    return f;
  }
  void wait_paused(std::size_t n) {
    std::unique_lock<std::mutex> lock(mu);
    INFO("waiting for " << n << " publish(es) to reach the pause");
    REQUIRE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return paused >= n; }));
  }
  void release() {
    {
      std::lock_guard<std::mutex> lock(mu);
      open = true;
    }
    cv.notify_all();
  }
};

TEST_CASE("a slow publish does not slow other requests on the same I/O thread", "[feed]") {
  publish_latch latch;
  fixture_options opts;
  opts.publish_faults = latch.faults();
  server_fixture f(opts);  // one I/O thread
  std::optional<http_reply> pushed;
  std::thread uploader([&] {
    http_client own(f.port());
    pushed = own.post("/api/packages/raw", f.admin_key,
                      multipart("XyZ-boundary", {{file_part("Slow.1.0.0.zip"), bytes(4096, 'a')}}),
                      {"Content-Type: multipart/form-data; boundary=XyZ-boundary"});
  });
  latch.wait_paused(1);
  // The publish is stuck (as a slow disk would hold it); the server still answers at once.
  auto began = std::chrono::steady_clock::now();
  auto root = f.client().get("/api");
  auto list = f.client().get("/api/packages", f.user_key);
  auto took = std::chrono::steady_clock::now() - began;
  CHECK(root.status == 200);
  CHECK(list.status == 200);
  CHECK(took < std::chrono::seconds(2));
  latch.release();
  uploader.join();
  REQUIRE(pushed);
  CHECK(pushed->status == 201);
  CHECK(str(pushed->object(), "Version") == "1.0.0");
}

TEST_CASE("uploads beyond the concurrent limit get 503 with Retry-After", "[feed]") {
  publish_latch latch;
  fixture_options opts;
  opts.publish_faults = latch.faults();
  opts.max_concurrent_uploads = 1;
  server_fixture f(opts);
  std::optional<http_reply> first;
  std::thread uploader([&] {
    http_client own(f.port());
    first = own.post("/api/packages/raw", f.admin_key,
                     multipart("XyZ-boundary", {{file_part("Held.1.0.0.zip"), bytes(100, 'b')}}),
                     {"Content-Type: multipart/form-data; boundary=XyZ-boundary"});
  });
  latch.wait_paused(1);  // the first upload holds the only slot until it is answered
  auto refused = push_file(f, "Other.1.0.0.zip", bytes(100, 'c'));
  CHECK(refused.status == 503);
  CHECK(refused.header("retry-after") == "5");
  CHECK(error_message(refused).find("Too many package uploads") != std::string::npos);
  latch.release();
  uploader.join();
  REQUIRE(first);
  CHECK(first->status == 201);
  // The slot is free again.
  CHECK(push_file(f, "Other.1.0.0.zip", bytes(100, 'c')).status == 201);
  CHECK(files_in(incoming(f)) == 0);
}

}  // namespace octomig::http_test
