// JSON as Octopus clients send and expect it: lenient parsing (comments, trailing commas, string
// booleans), the error body, and the paged collection shape.
#pragma once

#include <boost/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "events/error.hpp"
#include "http/message.hpp"

namespace octomig::http {

namespace json = boost::json;

// Parses a request body as Newtonsoft would: // and /* */ comments and trailing commas allowed.
result<json::value> parse_lenient(const std::string& body);

// A boolean field: JSON true/false or the strings "true"/"false" in any case. null or a missing
// field gives std::nullopt; anything else is an invalid_argument error naming the field.
result<std::optional<bool>> get_bool(const json::object& o, const char* field);

// A boolean in a query string ("True", "false", "1", "0").
std::optional<bool> parse_bool(const std::string& text);

// The Octopus error body: {"ErrorMessage":..,"Errors":[..],"FullException":null,...}.
response error_response(unsigned status, const std::string& message,
                        const std::vector<std::string>& errors = {});

// The one place where a domain error becomes an HTTP status and body.
response error_response(const error& err);
unsigned status_for(errc code);

response json_response(const json::value& v, unsigned status = 200);

// skip and take from the query: take defaults to 30; both must be non-negative integers.
struct paging {
  std::size_t skip = 0;
  std::size_t take = 30;
};
result<paging> parse_paging(const request& req);

// The collection shape of every list endpoint. base is the route without its query, e.g.
// "/api/Spaces-1/tasks"; template_ is its RFC 6570 template.
json::object collection(const std::string& item_type, json::array page_items, std::size_t total,
                        const paging& p, const std::string& base, const std::string& template_);

// Splits "a,b,,c" into {"a","b","c"}.
std::vector<std::string> split_list(const std::string& text);

}  // namespace octomig::http
