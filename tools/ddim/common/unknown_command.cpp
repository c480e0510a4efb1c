#include "common/unknown_command.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <vector>

namespace ddim::cli {
namespace {

// Commands that were renamed or folded into others, and what replaced them.
const std::map<std::string, std::string>& former_commands() {
  static const std::map<std::string, std::string> m = {
      {"embed", "reconstruct --embedder EMBEDDER.pt (or invert)"},
  };
  return m;
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

// The option `name` of `app` or of a parent (global options fall through to subcommands).
const CLI::Option* find_option(const CLI::App* app, const std::string& name) {
  for (; app != nullptr; app = app->get_parent()) {
    if (const auto* o = app->get_option_no_throw(name)) return o;
  }
  return nullptr;
}

std::string command_path(const CLI::App* app) {
  std::string path;
  for (; app != nullptr; app = app->get_parent()) path = app->get_name() + (path.empty() ? "" : " " + path);
  return path;
}

}  // namespace

std::optional<std::string> unknown_command(const CLI::App& app, int argc, const char* const* argv) {
  const CLI::App* current = &app;
  for (int i = 1; i < argc; ++i) {
    const std::string word = argv[i];
    if (word == "--") return std::nullopt;
    if (word.size() > 1 && word[0] == '-') {
      if (word.find('=') != std::string::npos) continue;  // --name=value
      const auto* option = find_option(current, word);
      // An option that takes a value consumes the next word (an unknown option is CLI11's to report).
      if (option != nullptr && option->get_items_expected_min() > 0) ++i;
      continue;
    }
    const auto subcommands = current->get_subcommands([](const CLI::App*) { return true; });
    if (subcommands.empty()) return std::nullopt;  // the words that follow are this command's arguments
    const auto known = std::find_if(subcommands.begin(), subcommands.end(),
                                    [&](const CLI::App* sub) { return sub->check_name(word); });
    if (known != subcommands.end()) {
      current = *known;
      continue;
    }
    std::string nearest;
    size_t best = word.size();
    for (const auto* sub : subcommands) {
      const size_t d = edit_distance(word, sub->get_name());
      if (d < best || (d == best && nearest.empty())) {
        best = d;
        nearest = sub->get_name();
      }
    }
    std::string message = fmt::format("'{}' is not a command of {}", word, command_path(current));
    const auto former = former_commands().find(word);
    if (current == &app && former != former_commands().end()) {
      message += fmt::format("; it became '{} {}'", app.get_name(), former->second);
    } else if (!nearest.empty() && best <= std::max<size_t>(2, word.size() / 3)) {
      message += fmt::format("; the nearest is '{} {}'", command_path(current), nearest);
    }
    return message;
  }
  return std::nullopt;
}

}  // namespace ddim::cli
