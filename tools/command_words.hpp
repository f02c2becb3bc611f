// The command tables of the two command-line tools (octomig-admin, octomig): each finds its command
// as the longest entry whose words ("projections verify", "task wait") begin the arguments, and
// shows each command's usage line the same way.
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

// A command and its arguments as its usage shows them: "task wait ServerTasks-N --server URL
// [--json]". Spec has words, positional (may be null) and options with name, placeholder (may be
// null) and required.
template <class Spec>
std::string command_line(const Spec& c) {
  std::string s = c.words;
  if (c.positional) s += std::string(" ") + c.positional;
  for (const auto& o : c.options) {
    std::string part = o.name;
    if (o.placeholder) part += std::string(" ") + o.placeholder;
    s += o.required ? " " + part : " [" + part + "]";
  }
  return s;
}

}  // namespace octomig::tools
