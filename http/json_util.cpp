#include "http/json_util.hpp"

#include "base/ascii.hpp"

#include <algorithm>
#include <cctype>
#include <limits>

namespace octomig::http {

result<json::value> parse_lenient(const std::string& body) {
  json::parse_options opt;
  opt.allow_comments = true;
  opt.allow_trailing_commas = true;
  opt.max_depth = 64;
  json::error_code ec;
  auto v = json::parse(body, ec, json::storage_ptr(), opt);
  if (ec)
    return make_error(errc::invalid_argument,
                      "The request body is not valid JSON: " + ec.message() + ".");
  return v;
}

std::optional<bool> parse_bool(const std::string& text) {
  auto t = ascii::lower(text);
  if (t == "true" || t == "1") return true;
  if (t == "false" || t == "0") return false;
  return std::nullopt;
}

result<std::optional<bool>> get_bool(const json::object& o, const char* field) {
  auto* v = o.if_contains(field);
  if (!v || v->is_null()) return std::optional<bool>();
  if (v->is_bool()) return std::optional<bool>(v->get_bool());
  if (v->is_string()) {
    auto t = ascii::lower(std::string(v->get_string()));
    if (t == "true") return std::optional<bool>(true);
    if (t == "false") return std::optional<bool>(false);
  }
  return make_error(errc::invalid_argument,
                    std::string("The value of '") + field + "' must be true or false.");
}

response json_response(const json::value& v, unsigned status) {
  response r;
  r.status = status;
  r.body = json::serialize(v);
  return r;
}

response error_response(unsigned status, const std::string& message,
                        const std::vector<std::string>& errors) {
  json::array errs;
  for (const auto& e : errors) errs.emplace_back(e);
  json::object o{{"ErrorMessage", message},  {"Errors", std::move(errs)},
                 {"FullException", nullptr}, {"HelpText", nullptr},
                 {"HelpLink", nullptr},      {"ParsedHelpLinks", json::array{}},
                 {"Details", json::object{}}};
  return json_response(o, status);
}

unsigned status_for(errc code) {
  switch (code) {
    case errc::invalid_argument:
      return 400;
    case errc::illegal_transition:
      return 400;
    case errc::not_found:
      return 404;
    case errc::conflict:
      return 409;
    case errc::too_large:
      return 413;
    case errc::unauthorized:
      return 401;
    case errc::forbidden:
      return 403;
    case errc::maintenance:
      return 503;
    case errc::unavailable:
      return 503;
    case errc::corruption:
      return 500;
    case errc::io_error:
      return 500;
  }
  return 500;
}

response error_response(const error& err) {
  unsigned status = status_for(err.code);
  switch (err.code) {
    case errc::invalid_argument:
    case errc::illegal_transition:
    case errc::conflict:
      return error_response(status, "There was a problem with your request.", {err.message});
    default:
      return error_response(status, err.message);
  }
}

static result<std::size_t> parse_count(const request& req, const char* name, std::size_t fallback) {
  auto* v = req.param(name);
  if (!v || v->empty()) return fallback;
  std::size_t n = 0;
  for (char c : *v) {
    if (c < '0' || c > '9' || n > (std::numeric_limits<std::size_t>::max() - 9) / 10)
      return make_error(errc::invalid_argument,
                        std::string("The value of '") + name + "' must be a non-negative integer.");
    n = n * 10 + static_cast<std::size_t>(c - '0');
  }
  return n;
}

result<paging> parse_paging(const request& req) {
  paging p;
  auto skip = parse_count(req, "skip", 0);
  if (!skip) return skip.err();
  auto take = parse_count(req, "take", 30);
  if (!take) return take.err();
  p.skip = *skip;
  p.take = *take;
  return p;
}

json::object collection(const std::string& item_type, json::array page_items, std::size_t total,
                        const paging& p, const std::string& base, const std::string& template_) {
  auto link = [&](std::size_t skip, std::size_t take) {
    return base + "?skip=" + std::to_string(skip) + "&take=" + std::to_string(take);
  };
  std::size_t per_page = p.take;
  // Written so that no sum can wrap: skip and take may be as large as a size_t allows.
  std::size_t pages = per_page == 0 ? 0 : total / per_page + (total % per_page != 0 ? 1 : 0);
  std::size_t last_page = pages == 0 ? 0 : pages - 1;
  json::object links{{"Self", link(p.skip, p.take)},
                     {"Template", template_},
                     {"Page.All", link(0, 2147483647)},
                     {"Page.Current", link(p.skip, p.take)},
                     {"Page.Last", link(per_page == 0 ? 0 : last_page * per_page, p.take)}};
  if (per_page > 0 && p.skip < total && per_page < total - p.skip)
    links["Page.Next"] = link(p.skip + per_page, p.take);
  if (p.skip > 0) links["Page.Previous"] = link(p.skip > per_page ? p.skip - per_page : 0, p.take);
  return json::object{{"ItemType", item_type},          {"TotalResults", total},
                      {"ItemsPerPage", per_page},       {"NumberOfPages", pages},
                      {"LastPageNumber", last_page},    {"IsStale", false},
                      {"Items", std::move(page_items)}, {"Links", std::move(links)}};
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : text) {
    if (c == ',') {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else if (c != ' ') {
      cur += c;
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

}  // namespace octomig::http
