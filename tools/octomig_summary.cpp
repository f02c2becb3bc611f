// Reading an import's summary lines (the formats are in octomig_summary.hpp).
#include "tools/octomig_summary.hpp"

#include <array>
#include <charconv>
#include <string_view>

#include "tools/octomig_output.hpp"

namespace octomig::cli {
namespace json = boost::json;

namespace {

using words = std::array<std::string_view, 3>;
constexpr words dry_run_words{"create", "overwrite", "skip"};
constexpr words import_words{"created", "overwritten", "skipped"};
constexpr std::string_view collection_indent = "     ";
constexpr std::string_view totals_prefix = "Totals: ";

// A left-to-right reader of one line.
class cursor {
 public:
  explicit cursor(std::string_view s) : s_(s) {}
  bool eat(std::string_view literal) {
    if (s_.substr(0, literal.size()) != literal) return false;
    s_.remove_prefix(literal.size());
    return true;
  }
  std::optional<std::uint64_t> number() {
    std::uint64_t v = 0;
    auto [end, ec] = std::from_chars(s_.data(), s_.data() + s_.size(), v);
    if (ec != std::errc() || end == s_.data()) return std::nullopt;
    s_.remove_prefix(static_cast<std::size_t>(end - s_.data()));
    return v;
  }
  bool at_end() const { return s_.empty(); }

 private:
  std::string_view s_;
};

// "create 2, overwrite 0, skip 1" (in the words w) from c's position.
std::optional<import_counts> read_counts(cursor& c, const words& w) {
  import_counts n;
  std::uint64_t* fields[3] = {&n.create, &n.overwrite, &n.skip};
  for (std::size_t i = 0; i < 3; ++i) {
    if (i > 0 && !c.eat(", ")) return std::nullopt;
    if (!c.eat(w[i]) || !c.eat(" ")) return std::nullopt;
    auto v = c.number();
    if (!v) return std::nullopt;
    *fields[i] = *v;
  }
  return n;
}

std::optional<collection_summary> read_collection(std::string_view line, const words& w) {
  if (line.substr(0, collection_indent.size()) != collection_indent) return std::nullopt;
  line.remove_prefix(collection_indent.size());
  if (line.empty() || line[0] == ' ') return std::nullopt;
  // The counts start at the first occurrence of the first word that reads to the end of the line
  // (a type long enough to reach column 50 has no dots before it).
  for (auto at = line.find(w[0]); at != std::string_view::npos; at = line.find(w[0], at + 1)) {
    cursor c(line.substr(at));
    auto n = read_counts(c, w);
    if (!n || !c.at_end()) continue;
    auto type = line.substr(0, at);
    while (!type.empty() && (type.back() == '.' || type.back() == ' ')) type.remove_suffix(1);
    if (type.empty()) return std::nullopt;
    return collection_summary{std::string(type), *n, {}};
  }
  return std::nullopt;
}

std::optional<import_totals> read_totals(std::string_view line, const words& w) {
  cursor c(line);
  if (!c.eat(totals_prefix)) return std::nullopt;
  auto n = read_counts(c, w);
  if (!n || !c.eat(", tasks ")) return std::nullopt;
  auto tasks = c.number();
  if (!tasks) return std::nullopt;
  return import_totals{*n, *tasks, {}};
}

// Adds the three counts under w's words as keys: "create" -> "Create", "created" -> "Created".
void add_counts(json::object& o, const import_counts& n, const words& w) {
  auto key = [](std::string_view word) {
    std::string k(word);
    k[0] = static_cast<char>(k[0] - 'a' + 'A');
    return k;
  };
  o[key(w[0])] = n.create;
  o[key(w[1])] = n.overwrite;
  o[key(w[2])] = n.skip;
}

}  // namespace

import_summary parse_import_log(const std::vector<std::string>& lines, bool dry_run) {
  const words& w = dry_run ? dry_run_words : import_words;
  import_summary s;
  s.dry_run = dry_run;
  for (const auto& line : lines) {
    if (auto c = read_collection(line, w)) {
      c->line = line;
      s.collections.push_back(std::move(*c));
    } else if (auto t = read_totals(line, w)) {
      t->line = line;
      s.totals = std::move(*t);  // the last one stands, should a log hold two
    }
  }
  return s;
}

std::string summary_text(const import_summary& s) {
  std::string out;
  for (const auto& c : s.collections) out += printable(c.line) + "\n";
  if (s.totals)
    out += printable(s.totals->line) + "\n";
  else
    out += "(the task's log has no totals line)\n";
  return out;
}

json::object summary_json(const import_summary& s) {
  const words& w = s.dry_run ? dry_run_words : import_words;
  json::array collections;
  for (const auto& c : s.collections) {
    json::object o{{"ItemType", c.item_type}};
    add_counts(o, c.counts, w);
    collections.push_back(std::move(o));
  }
  json::value totals = nullptr;
  if (s.totals) {
    json::object o;
    add_counts(o, s.totals->counts, w);
    o["Tasks"] = s.totals->tasks;
    totals = std::move(o);
  }
  return json::object{{"DryRun", s.dry_run},
                      {"Collections", std::move(collections)},
                      {"Totals", std::move(totals)}};
}

}  // namespace octomig::cli
