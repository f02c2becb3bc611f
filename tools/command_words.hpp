// The command words of a command-line tool ("projections verify", "task wait"): both tools find
// their command as the longest entry of their table whose words begin the arguments.
#pragma once

#include <algorithm>
#include <cstddef>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace octomig::tools {

// "task wait" -> {"task", "wait"}.
inline std::vector<std::string> split_words(const char* words) {
  std::vector<std::string> out;
  std::istringstream in(words);
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

// The entry of table (each with a `words` member) whose words are the longest prefix of args, and
// how many arguments those words take; {nullptr, 0} when none matches.
template <class Table>
auto longest_command(const Table& table, const std::vector<std::string>& args)
    -> std::pair<const typename Table::value_type*, std::size_t> {
  const typename Table::value_type* found = nullptr;
  std::size_t consumed = 0;
  for (const auto& c : table) {
    auto words = split_words(c.words);
    if (words.size() > consumed && words.size() <= args.size() &&
        std::equal(words.begin(), words.end(), args.begin())) {
      found = &c;
      consumed = words.size();
    }
  }
  return {found, consumed};
}

}  // namespace octomig::tools
