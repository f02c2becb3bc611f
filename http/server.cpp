#include "http/server.hpp"

#include <algorithm>
#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "base/ascii.hpp"
#include "http/json_util.hpp"

namespace octomig::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
namespace ssl = net::ssl;
using tls_stream = beast::ssl_stream<beast::tcp_stream>;

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

// Turns a parsed request header into the handler's request (without its body).
request translate(const bhttp::request_header<>& m) {
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
        auto name = ascii::lower(url_decode(pair.substr(0, eq), true));
        auto value =
            eq == std::string::npos ? std::string() : url_decode(pair.substr(eq + 1), true);
        r.query.emplace(std::move(name), std::move(value));  // the first occurrence wins
      }
      start = end + 1;
    }
  }
  r.method = ascii::upper(m.method_string());
  if (r.method == "POST") {
    auto it = m.find("X-HTTP-Method-Override");
    if (it != m.end() && !it->value().empty()) r.method = ascii::upper(it->value());
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
  return r;
}

bool expects_continue(const bhttp::request_header<>& m) {
  auto it = m.find(bhttp::field::expect);
  return m.version() >= 11 && it != m.end() && ascii::iequals(it->value(), "100-continue");
}

// A Beast body that hands the bytes to a body_sink as the parser produces them: nothing of the
// body is kept here.
struct sink_body {
  using value_type = std::shared_ptr<body_sink>;

  class reader {
   public:
    template <bool isRequest, class Fields>
    reader(bhttp::header<isRequest, Fields>&, value_type& sink) : sink_(sink) {}
    void init(const boost::optional<std::uint64_t>&, beast::error_code& ec) { ec = {}; }
    template <class ConstBufferSequence>
    std::size_t put(const ConstBufferSequence& buffers, beast::error_code& ec) {
      ec = {};
      std::size_t n = 0;
      for (auto it = net::buffer_sequence_begin(buffers); it != net::buffer_sequence_end(buffers);
           ++it) {
        net::const_buffer b = *it;
        sink_->write(static_cast<const char*>(b.data()), b.size());
        n += b.size();
      }
      return n;
    }
    void finish(beast::error_code& ec) { ec = {}; }

   private:
    value_type& sink_;
  };
};

// After refusing a request whose body may still be arriving, read and drop at most this much (for
// at most drain_time) so that the client reads the response instead of a connection reset.
constexpr std::size_t drain_limit = 16 * 1024 * 1024;
constexpr std::chrono::seconds drain_time{5};

}  // namespace

result<request> parse_request(std::string_view raw, std::size_t header_limit,
                              std::size_t body_limit) {
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
  if (ec)
    return make_error(errc::invalid_argument,
                      "The request is not valid HTTP: " + ec.message() + ".");
  if (!parser.is_done()) return make_error(errc::invalid_argument, "The request is incomplete.");
  auto r = translate(parser.get());
  if (r.method.empty()) return make_error(errc::invalid_argument, "The request has no method.");
  return r;
}

namespace {

// A session whose upload waits for its sink to have room: no handler of the io_context holds it
// then, only the wake-up its sink keeps. The server abandons such sessions when it stops.
class upload_waiter {
 public:
  virtual ~upload_waiter() = default;
  // Drops the upload (and with it the sink's wake-up, the waiter's last owner). REQUIRES: no I/O
  // thread runs.
  virtual void abandon() = 0;
};

}  // namespace

struct server::impl {
  server_options opts;
  handler h;
  body_planner planner;
  std::mutex waiting_mu;
  std::map<const upload_waiter*, std::weak_ptr<upload_waiter>> waiting;  // guarded by waiting_mu
  // Upload bodies are read on threads of their own: a body's reads are always ready and each
  // carries up to a MiB to copy and parse, so on the request threads a few uploads queued ahead of
  // every other connection's requests (tens of milliseconds each under 8 uploads).
  net::io_context upload_ioc;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> upload_work;
  std::vector<std::thread> upload_threads;
  net::io_context ioc;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  tcp::acceptor acceptor{ioc};
  tcp::acceptor tls_acceptor{ioc};
  std::vector<std::thread> threads;
  std::uint16_t bound_port = 0;
  std::uint16_t bound_tls_port = 0;
  std::atomic<bool> stopping{false};
  std::atomic<std::size_t> open_connections{0};
  connection_stats own_stats;  // when the options name none

  connection_stats& stats() { return opts.stats ? *opts.stats : own_stats; }
  // The TLS context new connections get; a reload swaps it, and open connections keep theirs.
  std::mutex tls_mu;
  std::shared_ptr<ssl::context> tls_context;  // guarded by tls_mu

  impl(server_options o, handler hh, body_planner p)
      : opts(std::move(o)), h(std::move(hh)), planner(std::move(p)) {}

  void do_accept(tcp::acceptor& a, bool tls);

  std::shared_ptr<ssl::context> current_tls() {
    std::lock_guard<std::mutex> lock(tls_mu);
    return tls_context;
  }

  void start_waiting(const upload_waiter* w, std::weak_ptr<upload_waiter> owner) {
    std::lock_guard<std::mutex> lock(waiting_mu);
    waiting[w] = std::move(owner);
  }
  void stop_waiting(const upload_waiter* w) {
    std::lock_guard<std::mutex> lock(waiting_mu);
    waiting.erase(w);
  }
};

namespace {

// The text of OpenSSL's error queue (or of ec), for a message a user can act on.
std::string tls_reason(const beast::error_code& ec) {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? ec.message() : out;
}

// A server context from a PEM certificate (chain) and key: TLS 1.2 and 1.3, no compression, the
// server's cipher order. errc::invalid_argument naming the file and what is wrong.
result<std::shared_ptr<ssl::context>> load_tls(const tls_options& t) {
  namespace fs = std::filesystem;
  for (const auto& [what, file] :
       {std::pair<const char*, const std::string&>{"certificate", t.cert_file},
        {"key", t.key_file}}) {
    if (file.empty())
      return make_error(errc::invalid_argument, std::string("no TLS ") + what + " file was given");
    std::error_code fec;
    if (!fs::exists(file, fec))
      return make_error(errc::invalid_argument,
                        std::string("the TLS ") + what + " file " + file + " does not exist");
    if (!fs::is_regular_file(file, fec))
      return make_error(errc::invalid_argument, std::string("the TLS ") + what + " file " + file +
                                                    " is not a regular file");
    if (!std::ifstream(file))
      return make_error(errc::invalid_argument,
                        std::string("the TLS ") + what + " file " + file + " cannot be read");
  }
  ERR_clear_error();
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                   ssl::context::no_compression | ssl::context::single_dh_use);
  SSL_CTX_set_options(ctx->native_handle(), SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  beast::error_code ec;
  ctx->use_certificate_chain_file(t.cert_file, ec);
  if (ec)
    return make_error(errc::invalid_argument, "the TLS certificate file " + t.cert_file +
                                                  " holds no usable PEM certificate (" +
                                                  tls_reason(ec) + ")");
  ctx->use_private_key_file(t.key_file, ssl::context::pem, ec);
  if (ec) {
    auto why = tls_reason(ec);
    if (why.find("mismatch") != std::string::npos)
      return make_error(
          errc::invalid_argument,
          "the TLS key " + t.key_file + " does not belong to the certificate " + t.cert_file);
    return make_error(errc::invalid_argument, "the TLS key file " + t.key_file +
                                                  " holds no usable PEM private key (" + why + ")");
  }
  if (SSL_CTX_check_private_key(ctx->native_handle()) != 1)
    return make_error(
        errc::invalid_argument,
        "the TLS key " + t.key_file + " does not belong to the certificate " + t.cert_file);
  return ctx;
}

// One connection. Stream is beast::tcp_stream (HTTP) or tls_stream (HTTPS): everything but the
// handshake, the shutdown and the move of an upload to its own threads is the same.
template <class Stream>
class session : public std::enable_shared_from_this<session<Stream>>, public upload_waiter {
  static constexpr bool tls = std::is_same_v<Stream, tls_stream>;
  using std::enable_shared_from_this<session<Stream>>::shared_from_this;

 public:
  // srv outlives every session: sessions live in handlers of srv->ioc, destroyed with it, or,
  // while an upload waits for room, in its sink's wake-up (abandoned by server::stop).
  session(tcp::socket&& socket, server::impl* srv) : srv_(srv) {
    stream_.emplace(std::move(socket));
    opened();
  }
  // HTTPS: ctx stays alive with the session, whatever reloads happen meanwhile.
  session(tcp::socket&& socket, server::impl* srv, std::shared_ptr<ssl::context> ctx)
      : tls_context_(std::move(ctx)), srv_(srv) {
    stream_.emplace(std::move(socket), *tls_context_);
    opened();
  }
  ~session() {
    --srv_->open_connections;
    --srv_->stats().open;
  }
  // An upload interrupted by a disconnect, a timeout or the server stopping releases its sink,
  // whose owner removes whatever it had started to write.

  void run() {
    net::dispatch(stream_->get_executor(),
                  beast::bind_front_handler(&session::start, shared_from_this()));
  }

 private:
  beast::tcp_stream& lowest() { return beast::get_lowest_layer(*stream_); }

  void opened() {
    // open_connections was counted at the accept (server::impl::do_accept)
    ++srv_->stats().open;
    ++srv_->stats().accepted;
  }

  void start() {
    if constexpr (tls) {
      // A client that never completes its handshake is dropped like one that never sends a request.
      lowest().expires_after(srv_->opts.request_timeout);
      stream_->async_handshake(
          ssl::stream_base::server, [self = shared_from_this()](beast::error_code ec) {
            if (ec) {  // plain HTTP, an old protocol, an unknown CA, ...
              beast::error_code ignored;
              self->lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
              return;
            }
            self->do_read();
          });
    } else {
      do_read();
    }
  }

  // Reads the header only: the planner sees it before any of the body is read, so that an
  // unauthorised or oversized upload is refused without receiving it.
  void do_read() {
    head_.emplace();
    head_->header_limit(static_cast<std::uint32_t>(srv_->opts.header_limit));
    head_->body_limit(boost::none);  // the limit depends on the plan (on_header checks it)
    lowest().expires_after(first_ ? srv_->opts.header_timeout : srv_->opts.idle_timeout);
    bhttp::async_read_header(*stream_, buffer_, *head_,
                             beast::bind_front_handler(&session::on_header, shared_from_this()));
  }

  // A read failed: malformed HTTP gets a 400, anything else (the client went away, a timeout)
  // just ends the connection.
  void transport_error(beast::error_code ec) {
    if (ec != bhttp::error::end_of_stream &&
        ec.category() == beast::error_code(bhttp::error::bad_method).category())
      return refuse(error_response(400, "The request is not valid HTTP: " + ec.message() + "."));
    close();
  }

  void on_header(beast::error_code ec, std::size_t) {
    const bool first = first_;
    first_ = false;
    if (ec == beast::error::timeout) {
      // Nothing (more) of a header came: a slow client, or an idle kept-alive one.
      ++(first || buffer_.size() > 0 ? srv_->stats().header_timeouts : srv_->stats().idle_timeouts);
      return close();
    }
    if (ec == bhttp::error::header_limit)
      return refuse(error_response(431, "The request headers are too large."));
    if (ec) return transport_error(ec);
    const auto& h = head_->get();
    version_ = h.version();
    keep_alive_ = h.keep_alive() && !srv_->stopping;
    expect_continue_ = expects_continue(h);
    req_ = translate(h);
    body_plan plan;
    if (srv_->planner) plan = srv_->planner(req_);
    if (plan.how == body_plan::reject) return refuse(std::move(plan.rejection));
    auto length = head_->content_length();
    if (plan.how == body_plan::to_sink) return start_upload(length, std::move(plan.sink));

    if (length && *length > srv_->opts.body_limit) return refuse(too_large());
    body_.emplace(std::move(*head_));
    head_.reset();
    body_->body_limit(srv_->opts.body_limit);  // counts chunked bodies as they arrive
    if (body_->is_done()) return on_body({}, 0);
    continue_then([self = shared_from_this()] {
      bhttp::async_read(*self->stream_, self->buffer_, *self->body_,
                        beast::bind_front_handler(&session::on_body, self));
    });
  }

  static response too_large() { return error_response(413, "The request body is too large."); }

  void on_body(beast::error_code ec, std::size_t) {
    if (ec == bhttp::error::body_limit) return refuse(too_large());
    if (ec) return transport_error(ec);
    req_.body = std::move(body_->get().body());
    body_.reset();
    dispatch_request();
  }

  // ---- a body streamed to a sink ----

  void start_upload(boost::optional<std::uint64_t> length, std::shared_ptr<body_sink> sink) {
    auto limit = srv_->opts.max_upload_bytes;
    if (length && *length > limit) return refuse(too_large());
    move_to_upload_threads();
    // The answer closes the connection. api-client 3.11 (axios 1.21 with maxBodyLength: Infinity)
    // sends its form-data body through stream.pipeline, which misses form-data's synchronous 'end',
    // so the client never ends its request although every body byte has arrived. Node hands a
    // kept-alive socket back to its agent only once the request has ended too, so without a close
    // the busy socket keeps the client's process alive until our idle timeout, whenever we answer;
    // a close frees it at once. Uploads are rare and large: a fresh connection costs nothing.
    // tests/clients checks it.
    keep_alive_ = false;
    upload_.emplace(std::move(*head_));
    head_.reset();
    upload_->get().body() = std::move(sink);
    upload_->body_limit(limit);
    upload_->eager(true);  // put() parses every chunk it is given, not one at a time
    if (upload_->is_done()) return finish_upload();
    continue_then([self = shared_from_this()] { self->read_upload(); });
  }

  // Reads the body in large pieces straight into the parser (which hands them to the sink):
  // Beast's read_some reads at most 64 KiB, and only as much as the buffer's capacity (about 1 KiB
  // after a header), which made a 1 GiB upload a million system calls and timer resets.
  void read_upload() {
    if (buffer_.size() > 0) return parse_upload({}, 0);  // the header read took some of the body
    read_upload_some();
  }

  // One read, once the sink can take it without waiting; until then the session reads nothing
  // and the sink resumes it.
  void read_upload_some() {
    auto& sink = upload_->get().body();
    if (sink) {
      // Registered before asking, so that a wake-up that comes at once finds the entry to remove.
      srv_->start_waiting(this, shared_from_this());
      bool room = sink->ready([self = shared_from_this()] {
        net::post(self->stream_->get_executor(), [self] {
          self->srv_->stop_waiting(self.get());
          if (self->upload_) self->read_upload_some();
        });
      });
      if (!room) return;
      srv_->stop_waiting(this);
    }
    // The timeout applies per read: an upload may take far longer than request_timeout in
    // total, but never stalls that long.
    lowest().expires_after(srv_->opts.request_timeout);
    stream_->async_read_some(buffer_.prepare(upload_read_size),
                             beast::bind_front_handler(&session::parse_upload, shared_from_this()));
  }

  void parse_upload(beast::error_code ec, std::size_t n) {
    buffer_.commit(n);
    if (ec) {  // the client went away or stalled before the body was complete
      discard_upload();
      return close();
    }
    while (buffer_.size() > 0 && !upload_->is_done()) {
      beast::error_code pec;
      auto used = upload_->put(buffer_.data(), pec);
      buffer_.consume(used);
      if (pec == bhttp::error::need_more) break;
      if (pec) {
        discard_upload();
        if (pec == bhttp::error::body_limit) return refuse(too_large());
        return transport_error(pec);
      }
      if (used == 0) break;
    }
    if (upload_->is_done()) return finish_upload();
    if (buffer_.size() > 0 && buffer_.size() >= upload_read_size) {
      // A chunk header longer than a whole read: not a client we serve.
      discard_upload();
      return refuse(
          error_response(400, "The request is not valid HTTP: a chunk header is too long."));
    }
    read_upload_some();
  }

  void finish_upload() {
    req_.sink = std::move(upload_->get().body());
    upload_.reset();
    dispatch_request();
  }

  // Hands the connection to the upload threads for the rest of its life (an upload's answer closes
  // it). No operation of it is pending: this runs in the completion of its header's read, and
  // every later completion runs on the new strand. If the socket cannot be moved it stays here.
  void move_to_upload_threads() {
    if constexpr (tls) {
      return;  // a TLS session's state lives with its socket on this io_context: it stays here
    } else {
      beast::error_code ec;
      auto protocol = stream_->socket().local_endpoint(ec).protocol();
      if (ec) return;
      auto fd = stream_->socket().release(ec);
      if (ec) return;
      stream_.emplace(tcp::socket(net::make_strand(srv_->upload_ioc), protocol, fd));
    }
  }

  // Drops an unfinished upload; its sink's owner cleans up what it wrote.
  void discard_upload() {
    upload_.reset();
    req_.sink.reset();
  }

  void abandon() override { discard_upload(); }

  // Sends "100 Continue" first when the client waits for it before sending the body.
  template <class Next>
  void continue_then(Next next) {
    if (!expect_continue_) return next();
    static const char line[] = "HTTP/1.1 100 Continue\r\n\r\n";
    lowest().expires_after(srv_->opts.request_timeout);
    net::async_write(*stream_, net::buffer(line, sizeof line - 1),
                     [self = shared_from_this(), next](beast::error_code ec, std::size_t) {
                       if (ec) {
                         self->discard_upload();
                         return self->close();
                       }
                       next();
                     });
  }

  // ---- answering ----

  void dispatch_request() {
    auto self = shared_from_this();
    // The handler may answer from any thread; the answer is written on this session's strand.
    srv_->h(req_, [self](response r) {
      net::post(self->stream_->get_executor(), [self, r = std::move(r)]() mutable {
        self->discard_upload();  // the handler is done with the body's sink
        self->write(std::move(r));
      });
    });
  }

  // Answers and closes without reading the rest of the request (see drain()).
  void refuse(response r) {
    keep_alive_ = false;
    draining_ = true;
    write(std::move(r));
  }

  // Status line and headers of every response, whatever its body.
  template <class Body>
  void set_head(bhttp::response<Body>& res, const response& r) {
    res.version(version_);
    res.result(static_cast<bhttp::status>(r.status));
    res.set(bhttp::field::server, "octomig");
    res.set(bhttp::field::content_type, r.content_type);
    for (auto& [k, v] : r.headers) res.set(k, v);
    res.keep_alive(keep_alive_);
  }

  void write(response r) {
    if (!r.body_file.empty()) return write_file(std::move(r));
    auto res = std::make_shared<bhttp::response<bhttp::string_body>>();
    set_head(*res, r);
    res->body() = std::move(r.body);
    res->prepare_payload();
    lowest().expires_after(srv_->opts.request_timeout);
    bhttp::async_write(*stream_, *res,
                       [self = shared_from_this(), res](beast::error_code ec, std::size_t) {
                         self->on_write(ec, res->keep_alive());
                       });
  }

  // Streams a file from disk: memory stays flat whatever its size.
  void write_file(response r) {
    auto res = std::make_shared<bhttp::response<bhttp::file_body>>();
    beast::error_code ec;
    res->body().open(r.body_file.c_str(), beast::file_mode::scan, ec);
    if (ec)
      return write(
          error_response(404, "The resource you requested was not found."));  // deleted meanwhile
    set_head(*res, r);
    res->prepare_payload();
    auto sr = std::make_shared<bhttp::response_serializer<bhttp::file_body>>(*res);
    write_file_some(res, sr);
  }

  void write_file_some(std::shared_ptr<bhttp::response<bhttp::file_body>> res,
                       std::shared_ptr<bhttp::response_serializer<bhttp::file_body>> sr) {
    lowest().expires_after(srv_->opts.request_timeout);  // per write, as for uploads
    bhttp::async_write_some(
        *stream_, *sr, [self = shared_from_this(), res, sr](beast::error_code ec, std::size_t) {
          if (ec) return self->close();
          if (!sr->is_done()) return self->write_file_some(res, sr);
          self->on_write(ec, res->keep_alive());
        });
  }

  void on_write(beast::error_code ec, bool keep) {
    if (!ec && draining_) return drain();
    if (ec || !keep) return close();
    do_read();
  }

  // A refused client may still be sending its body: half-close, then read and drop a bounded
  // amount so that it gets to read the response instead of a reset.
  void drain() {
    close();
    if constexpr (tls) return;  // the shutdown above ends the session; nothing more is read
    drained_ = 0;
    scratch_ = std::make_unique<char[]>(scratch_size);
    lowest().expires_after(drain_time);
    drain_some();
  }

  void drain_some() {
    stream_->async_read_some(net::buffer(scratch_.get(), scratch_size),
                             [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                               self->drained_ += n;
                               if (ec || self->drained_ > drain_limit) return;
                               self->drain_some();
                             });
  }

  void close() {
    beast::error_code ec;
    if constexpr (tls) {
      if (closing_) return;
      closing_ = true;
      // close_notify, bounded: a client that does not answer it is cut off at the timeout.
      lowest().expires_after(drain_time);
      stream_->async_shutdown([self = shared_from_this()](beast::error_code) {
        beast::error_code ignored;
        self->lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
      });
    } else {
      stream_->socket().shutdown(tcp::socket::shutdown_send, ec);
    }
  }

  static constexpr std::size_t scratch_size = 64 * 1024;
  static constexpr std::size_t upload_read_size = body_sink::read_size;
  // In an optional so that an upload can move the connection to the upload threads (a Beast
  // stream cannot be assigned).
  std::shared_ptr<ssl::context> tls_context_;  // HTTPS: declared before the stream that uses it
  std::optional<Stream> stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::empty_body>> head_;
  std::optional<bhttp::request_parser<bhttp::string_body>> body_;
  std::optional<bhttp::request_parser<sink_body>> upload_;
  request req_;
  server::impl* srv_;
  unsigned version_ = 11;
  bool keep_alive_ = true;
  bool first_ = true;
  bool expect_continue_ = false;
  bool draining_ = false;
  bool closing_ = false;
  std::size_t drained_ = 0;
  std::unique_ptr<char[]> scratch_;
};

}  // namespace

void server::impl::do_accept(tcp::acceptor& a, bool tls) {
  a.async_accept(net::make_strand(ioc), [self = this, &a, tls](beast::error_code ec,
                                                               tcp::socket socket) {
    if (ec) {
      if (ec == net::error::operation_aborted || !a.is_open()) return;
    } else if (self->open_connections.load() >= self->opts.max_connections) {
      ++self->stats().refused_at_limit;  // closed at once: the client sees a reset, not a hang
      beast::error_code ignored;
      socket.close(ignored);
    } else if (tls) {
      // Small writes go out at once: without it, a TLS 1.3 handshake's session tickets and the
      // first answer waited ~40 ms behind the client's delayed acknowledgement (Nagle).
      beast::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      ++self->open_connections;
      std::make_shared<session<tls_stream>>(std::move(socket), self, self->current_tls())->run();
    } else {
      beast::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      ++self->open_connections;
      std::make_shared<session<beast::tcp_stream>>(std::move(socket), self)->run();
    }
    if (a.is_open()) self->do_accept(a, tls);
  });
}

namespace {

// Opens, binds and listens; returns the bound port.
result<std::uint16_t> listen_on(tcp::acceptor& a, const std::string& address, std::uint16_t port) {
  beast::error_code ec;
  auto ip = net::ip::make_address(address, ec);
  if (ec) return make_error(errc::invalid_argument, "invalid listen address " + address);
  tcp::endpoint ep{ip, port};
  a.open(ep.protocol(), ec);
  if (!ec) a.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) a.bind(ep, ec);
  if (!ec) a.listen(net::socket_base::max_listen_connections, ec);
  if (ec)
    return make_error(errc::io_error, "cannot listen on " + address + ":" + std::to_string(port) +
                                          ": " + ec.message());
  return a.local_endpoint().port();
}

}  // namespace

server::server(server_options opts, handler h, body_planner planner)
    : impl_(std::make_unique<impl>(std::move(opts), std::move(h), std::move(planner))) {}

server::~server() {
  stop();
}

result<std::uint16_t> server::start() {
  auto& d = *impl_;
  if (!d.opts.plain && !d.opts.tls)
    return make_error(errc::invalid_argument, "neither HTTP nor HTTPS is to be served");
  if (d.opts.tls) {
    auto ctx = load_tls(*d.opts.tls);
    if (!ctx) return ctx.err();
    std::lock_guard<std::mutex> lock(d.tls_mu);
    d.tls_context = std::move(*ctx);
  }
  if (d.opts.plain) {
    auto bound = listen_on(d.acceptor, d.opts.address, d.opts.port);
    if (!bound) return bound.err();
    d.bound_port = *bound;
  }
  if (d.opts.tls) {
    auto bound = listen_on(d.tls_acceptor, d.opts.tls->address, d.opts.tls->port);
    if (!bound) return bound.err();
    d.bound_tls_port = *bound;
  }
  d.work.emplace(net::make_work_guard(d.ioc));
  d.upload_work.emplace(net::make_work_guard(d.upload_ioc));
  if (d.opts.plain) d.do_accept(d.acceptor, false);
  if (d.opts.tls) d.do_accept(d.tls_acceptor, true);
  std::size_t n = std::max<std::size_t>(1, d.opts.threads);
  for (std::size_t i = 0; i < n; ++i) d.threads.emplace_back([&d] { d.ioc.run(); });
  for (std::size_t i = 0; i < n; ++i) d.upload_threads.emplace_back([&d] { d.upload_ioc.run(); });
  return d.opts.plain ? d.bound_port : d.bound_tls_port;
}

status server::reload_tls() {
  auto& d = *impl_;
  if (!d.opts.tls) return make_error(errc::invalid_argument, "HTTPS is not served");
  auto ctx = load_tls(*d.opts.tls);
  if (!ctx) return ctx.err();
  std::lock_guard<std::mutex> lock(d.tls_mu);
  d.tls_context = std::move(*ctx);
  return ok_status();
}

void server::stop_accepting() {
  auto* d = impl_.get();
  d->stopping = true;
  net::post(d->ioc, [d] {
    beast::error_code ec;
    d->acceptor.close(ec);
    d->tls_acceptor.close(ec);
  });
}

void server::stop() {
  if (!impl_) return;
  stop_accepting();
  impl_->work.reset();
  impl_->upload_work.reset();
  impl_->ioc.stop();
  impl_->upload_ioc.stop();
  for (auto* pool : {&impl_->threads, &impl_->upload_threads}) {
    for (auto& t : *pool)
      if (t.joinable()) t.join();
    pool->clear();
  }
  beast::error_code ec;
  impl_->acceptor.close(ec);  // no I/O thread runs any more
  impl_->tls_acceptor.close(ec);
  // Uploads waiting for room are held only by their sinks' wake-ups: drop them now, while the
  // io_context their wake-ups post to still exists.
  std::map<const upload_waiter*, std::weak_ptr<upload_waiter>> waiting;
  {
    std::lock_guard<std::mutex> lock(impl_->waiting_mu);
    waiting.swap(impl_->waiting);
  }
  for (auto& [w, owner] : waiting)
    if (auto s = owner.lock()) s->abandon();
}

std::uint16_t server::port() const {
  return impl_->bound_port;
}

std::uint16_t server::tls_port() const {
  return impl_->bound_tls_port;
}

}  // namespace octomig::http
