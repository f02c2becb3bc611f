// The streaming multipart parser (http/multipart.cpp) on its own: the file part's bytes come out
// exactly, wherever the body is cut as it arrives, including cuts inside a delimiter and data that
// looks like one.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "http/multipart.hpp"

namespace octomig::http_test {
namespace {

struct parsed {
  status fed = ok_status();
  result<bool> done = false;
  std::vector<std::string> names;
  std::string data;
};

// Feeds body in pieces of `piece` bytes (0: all at once).
parsed parse(const std::string& boundary, const std::string& body, std::size_t piece) {
  parsed out;
  http::multipart_parser p(
      boundary,
      [&](const http::file_part& f) {
        out.names.push_back(f.file_name);
        return ok_status();
      },
      [&](const char* d, std::size_t n) {
        out.data.append(d, n);
        return ok_status();
      });
  for (std::size_t pos = 0; pos < body.size() && out.fed.ok();) {
    auto k = piece == 0 ? body.size() : std::min(piece, body.size() - pos);
    out.fed = p.feed(body.data() + pos, k);
    pos += k;
  }
  out.done = p.finish();
  return out;
}

// A payload full of near-delimiters of the boundary "b0undary-real": CRLF, "--", the boundary
// without its CRLF, and delimiters that stop one byte short or differ in their last byte.
std::string tricky_payload() {
  std::string s;
  for (int i = 0; i < 40; ++i) {
    s += "\r\n-";
    s += "--b0undary-real\r\n";
    s += std::string(1, static_cast<char>(i * 37));
    s += "\r\n--b0undary-rea";
    s += "\r\n--b0undary-reaL";
  }
  return s;
}

}  // namespace

TEST_CASE("the file part comes out exactly however the body is cut", "[multipart]") {
  const std::string boundary = "b0undary-real";
  std::string payload = tricky_payload();
  std::string body = "preamble\r\n--" + boundary +
                     "\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nnot the file\r\n--" +
                     boundary +
                     "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"Pkg.1.0.0.zip\""
                     "\r\nContent-Type: application/zip\r\n\r\n" +
                     payload + "\r\n--" + boundary + "--\r\nepilogue";
  for (std::size_t piece : {0, 1, 2, 3, 7, 13, 14, 15, 16, 64, 1000}) {
    INFO("pieces of " << piece << " bytes");
    auto r = parse(boundary, body, piece);
    REQUIRE(r.fed.ok());
    REQUIRE(r.done.ok());
    CHECK(*r.done);
    CHECK(r.names == std::vector<std::string>{"Pkg.1.0.0.zip"});
    CHECK(r.data == payload);
  }
}

TEST_CASE("the multipart parser's outcomes", "[multipart]") {
  auto file_part = [](const std::string& name, const std::string& data) {
    return "--B\r\nContent-Disposition: form-data; name=file; filename=" + name + "\r\n\r\n" +
           data + "\r\n--B--\r\n";
  };
  SECTION("an empty file is complete with no bytes") {
    auto r = parse("B", file_part("E.1.0.0.zip", ""), 0);
    REQUIRE(r.done.ok());
    CHECK(*r.done);
    CHECK(r.data.empty());
  }
  SECTION("no part with a file name: complete is false, nothing handed out") {
    auto r = parse("B", "--B\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n--B--\r\n", 3);
    REQUIRE(r.done.ok());
    CHECK_FALSE(*r.done);
    CHECK(r.names.empty());
  }
  SECTION("only the first file part is taken") {
    auto body =
        "--B\r\nContent-Disposition: form-data; name=a; filename=One.1.0.0.zip\r\n\r\n1"
        "\r\n--B\r\nContent-Disposition: form-data; name=b; filename=Two.1.0.0.zip\r\n\r\n2"
        "\r\n--B--\r\n";
    auto r = parse("B", body, 5);
    CHECK(r.names == std::vector<std::string>{"One.1.0.0.zip"});
    CHECK(r.data == "1");
  }
  SECTION("a body cut inside the file part is a truncated upload") {
    auto body = file_part("T.1.0.0.zip", "abcdef");
    auto r = parse("B", body.substr(0, body.size() - 9), 4);
    REQUIRE_FALSE(r.done.ok());
    CHECK(r.done.err().code == errc::invalid_argument);
    CHECK(r.done.err().message.find("truncated") != std::string::npos);
  }
  SECTION("a boundary line with junk after it is malformed") {
    auto r = parse("B", "--B junk\r\n\r\n", 0);
    CHECK_FALSE(r.fed.ok());
    CHECK_FALSE(r.done.ok());
  }
  SECTION("part headers over the limit are refused without being kept") {
    auto r = parse("B", "--B\r\nX-Long: " + std::string(20000, 'h') + "\r\n\r\nx\r\n--B--", 999);
    REQUIRE_FALSE(r.fed.ok());
    CHECK(r.fed.err().message.find("too large") != std::string::npos);
  }
  SECTION("a callback's error stops the parser and is returned") {
    http::multipart_parser p(
        "B", [](const http::file_part&) { return status(make_error(errc::conflict, "exists")); },
        [](const char*, std::size_t) { return ok_status(); });
    auto body = file_part("C.1.0.0.zip", "x");
    auto s = p.feed(body.data(), body.size());
    REQUIRE_FALSE(s.ok());
    CHECK(s.err().code == errc::conflict);
    CHECK(p.feed("more", 4).err().code == errc::conflict);
  }
}

}  // namespace octomig::http_test
