#include "http/server.hpp"

#include <algorithm>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <thread>
#include <vector>

#include "http/json_util.hpp"

namespace octomig::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

std::string url_decode(const std::string& in, bool plus_as_space) {
  std::string out;
  out.reserve(in.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%' && i + 2 < in.size()) {
      int a = i + 1 < in.size() ? hex(in[i + 1]) : -1;
      int b = i + 2 < in.size() ? hex(in[i + 2]) : -1;
      if (a >= 0 && b >= 0) {
        out += static_cast<char>(a * 16 + b);
        i += 2;
        continue;
      }
    }
    out += (plus_as_space && c == '+') ? ' ' : c;
  }
  return out;
}

namespace {

std::string to_lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string to_upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::toupper(c); });
  return s;
}

// Turns a parsed Beast request into the handler's request.
request translate(const bhttp::request<bhttp::string_body>& m) {
  request r;
  std::string target(m.target());
  auto q = target.find('?');
  r.path = url_decode(target.substr(0, q), false);
  if (q != std::string::npos) {
    std::string qs = target.substr(q + 1);
    std::size_t start = 0;
    while (start <= qs.size()) {
      auto end = qs.find('&', start);
      if (end == std::string::npos) end = qs.size();
      auto pair = qs.substr(start, end - start);
      if (!pair.empty()) {
        auto eq = pair.find('=');
        auto name = to_lower(url_decode(pair.substr(0, eq), true));
        auto value = eq == std::string::npos ? std::string() : url_decode(pair.substr(eq + 1), true);
        r.query.emplace(std::move(name), std::move(value));  // the first occurrence wins
      }
      start = end + 1;
    }
  }
  r.method = to_upper(std::string(m.method_string()));
  if (r.method == "POST") {
    auto it = m.find("X-HTTP-Method-Override");
    if (it != m.end() && !it->value().empty()) r.method = to_upper(std::string(it->value()));
  }
  for (const char* h : {"X-Octopus-ApiKey", "X-NuGet-ApiKey"}) {
    auto it = m.find(h);
    if (it != m.end() && !it->value().empty()) {
      r.api_key = std::string(it->value());
      break;
    }
  }
  if (r.api_key.empty())
    if (auto* k = r.param("apikey")) r.api_key = *k;
  auto ct = m.find(bhttp::field::content_type);
  if (ct != m.end()) r.content_type = std::string(ct->value());
  r.body = m.body();
  return r;
}

}  // namespace

result<request> parse_request(std::string_view raw, std::size_t header_limit, std::size_t body_limit) {
  bhttp::request_parser<bhttp::string_body> parser;
  parser.header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(header_limit, UINT32_MAX)));
  parser.body_limit(body_limit);
  parser.eager(true);
  beast::error_code ec;
  std::size_t used = 0;
  while (!ec && used < raw.size() && !parser.is_done()) {
    auto n = parser.put(net::buffer(raw.data() + used, raw.size() - used), ec);
    if (n == 0 && !ec) break;
    used += n;
  }
  if (!ec && !parser.is_done()) {
    parser.put_eof(ec);
  }
  if (ec) return make_error(errc::invalid_argument, "The request is not valid HTTP: " + ec.message() + ".");
  if (!parser.is_done()) return make_error(errc::invalid_argument, "The request is incomplete.");
  auto r = translate(parser.get());
  if (r.method.empty()) return make_error(errc::invalid_argument, "The request has no method.");
  return r;
}

struct server::impl {
  server_options opts;
  handler h;
  net::io_context ioc;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  tcp::acceptor acceptor{ioc};
  std::vector<std::thread> threads;
  std::uint16_t bound_port = 0;
  std::atomic<bool> stopping{false};

  impl(server_options o, handler hh) : opts(std::move(o)), h(std::move(hh)) {}

  void do_accept();
};

namespace {

class session : public std::enable_shared_from_this<session> {
 public:
  // srv outlives every session: sessions live in handlers of srv->ioc, destroyed with it.
  session(tcp::socket&& socket, server::impl* srv) : stream_(std::move(socket)), srv_(srv) {}

  void run() {
    net::dispatch(stream_.get_executor(), beast::bind_front_handler(&session::do_read, shared_from_this()));
  }

 private:
  void do_read() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(srv_->opts.header_limit));
    parser_->body_limit(srv_->opts.body_limit);
    stream_.expires_after(first_ ? srv_->opts.request_timeout : srv_->opts.idle_timeout);
    bhttp::async_read(stream_, buffer_, *parser_,
                      beast::bind_front_handler(&session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    first_ = false;
    if (ec == bhttp::error::end_of_stream || ec == net::error::eof) return close();
    if (ec == bhttp::error::body_limit) return reply_error(413, "The request body is too large.", false);
    if (ec == bhttp::error::header_limit) return reply_error(431, "The request headers are too large.", false);
    if (ec == beast::error::timeout) return close();
    if (ec) {
      if (ec.category() == beast::error_code(bhttp::error::bad_method).category())
        return reply_error(400, "The request is not valid HTTP: " + ec.message() + ".", false);
      return close();
    }
    auto msg = parser_->release();
    version_ = msg.version();
    keep_alive_ = msg.keep_alive() && !srv_->stopping;
    auto req = translate(msg);
    if (req.method.empty()) return reply_error(400, "The request has no method.", false);
    auto self = shared_from_this();
    // The handler may answer from any thread; the answer is written on this session's strand.
    srv_->h(req, [self](response r) {
      net::post(self->stream_.get_executor(), [self, r = std::move(r)]() mutable { self->write(std::move(r)); });
    });
  }

  void reply_error(unsigned status, const std::string& message, bool keep) {
    keep_alive_ = keep;
    version_ = 11;
    write(error_response(status, message));
  }

  void write(response r) {
    auto res = std::make_shared<bhttp::response<bhttp::string_body>>();
    res->version(version_);
    res->result(static_cast<bhttp::status>(r.status));
    res->set(bhttp::field::server, "octomig");
    res->set(bhttp::field::content_type, r.content_type);
    for (auto& [k, v] : r.headers) res->set(k, v);
    res->keep_alive(keep_alive_);
    res->body() = std::move(r.body);
    res->prepare_payload();
    stream_.expires_after(srv_->opts.request_timeout);
    bhttp::async_write(stream_, *res,
                       [self = shared_from_this(), res](beast::error_code ec, std::size_t) {
                         self->on_write(ec, res->keep_alive());
                       });
  }

  void on_write(beast::error_code ec, bool keep) {
    if (ec || !keep) return close();
    do_read();
  }

  void close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  server::impl* srv_;
  unsigned version_ = 11;
  bool keep_alive_ = true;
  bool first_ = true;
};

}  // namespace

void server::impl::do_accept() {
  acceptor.async_accept(net::make_strand(ioc), [self = this](beast::error_code ec, tcp::socket socket) {
    if (ec) {
      if (ec == net::error::operation_aborted || !self->acceptor.is_open()) return;
    } else {
      std::make_shared<session>(std::move(socket), self)->run();
    }
    if (self->acceptor.is_open()) self->do_accept();
  });
}

server::server(server_options opts, handler h)
    : impl_(std::make_unique<impl>(std::move(opts), std::move(h))) {}

server::~server() { stop(); }

result<std::uint16_t> server::start() {
  auto& d = *impl_;
  beast::error_code ec;
  auto address = net::ip::make_address(d.opts.address, ec);
  if (ec) return make_error(errc::invalid_argument, "invalid listen address " + d.opts.address);
  tcp::endpoint ep{address, d.opts.port};
  d.acceptor.open(ep.protocol(), ec);
  if (!ec) d.acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) d.acceptor.bind(ep, ec);
  if (!ec) d.acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec)
    return make_error(errc::io_error, "cannot listen on " + d.opts.address + ":" +
                                          std::to_string(d.opts.port) + ": " + ec.message());
  d.bound_port = d.acceptor.local_endpoint().port();
  d.work.emplace(net::make_work_guard(d.ioc));
  d.do_accept();
  std::size_t n = std::max<std::size_t>(1, d.opts.threads);
  for (std::size_t i = 0; i < n; ++i) d.threads.emplace_back([&d] { d.ioc.run(); });
  return d.bound_port;
}

void server::stop_accepting() {
  auto* d = impl_.get();
  d->stopping = true;
  net::post(d->ioc, [d] {
    beast::error_code ec;
    d->acceptor.close(ec);
  });
}

void server::stop() {
  if (!impl_) return;
  stop_accepting();
  impl_->work.reset();
  impl_->ioc.stop();
  for (auto& t : impl_->threads)
    if (t.joinable()) t.join();
  impl_->threads.clear();
  beast::error_code ec;
  impl_->acceptor.close(ec);  // no I/O thread runs any more
}

std::uint16_t server::port() const { return impl_->bound_port; }

}  // namespace octomig::http
