#include "common/strict_config.h"

#include <fmt/format.h>

#include <iterator>

#include "ddim/core/error.h"
#include "ddim/io/config_file.h"

namespace ddim::cli {
namespace {

std::string table_name(const std::vector<std::string>& table) {
  return table.empty() ? std::string("the top level") : fmt::format("[{}]", fmt::join(table, "."));
}

std::string command_of(const std::vector<std::string>& table) {
  return table.empty() ? "ddim --help" : fmt::format("ddim {} --help", fmt::join(table, " "));
}

bool parses_as_integer(const std::string& s) {
  if (s.empty()) return false;
  char* end = nullptr;
  errno = 0;
  (void)std::strtoll(s.c_str(), &end, 10);
  return errno == 0 && end != nullptr && *end == '\0';
}

bool parses_as_number(const std::string& s) {
  if (s.empty()) return false;
  char* end = nullptr;
  (void)std::strtod(s.c_str(), &end);
  return end != nullptr && *end == '\0';
}

class StrictConfig : public CLI::Config {
 public:
  explicit StrictConfig(const CLI::App* root) : root_(root) {}

  std::string to_config(const CLI::App* app, bool default_also, bool write_description,
                        std::string prefix) const override {
    return CLI::ConfigTOML().to_config(app, default_also, write_description, std::move(prefix));
  }

  std::vector<CLI::ConfigItem> from_config(std::istream& input) const override {
    const std::string text((std::istreambuf_iterator<char>(input)), std::istreambuf_iterator<char>());
    const std::string path = config_path();
    try {
      const auto file = parse_config(text, path);
      for (const auto& t : file.tables) find_app(t.name, t.line, path);
      std::vector<CLI::ConfigItem> items;
      for (const auto& e : file.entries) {
        check_entry(*find_app(e.table, e.line, path), e, path);
        CLI::ConfigItem item;
        item.parents = e.table;
        item.name = e.key;
        item.inputs = e.values;
        items.push_back(std::move(item));
      }
      return items;
    } catch (const ddim::Error& e) {
      throw CLI::ConfigError(e.what());
    }
  }

 private:
  std::string config_path() const {
    const auto* opt = root_->get_config_ptr();
    if (opt != nullptr && !opt->results().empty()) return opt->results().back();
    return "--config file";
  }

  const CLI::App* find_app(const std::vector<std::string>& table, int line, const std::string& path) const {
    const CLI::App* app = root_;
    for (size_t i = 0; i < table.size(); ++i) {
      const CLI::App* next = nullptr;
      std::vector<std::string> names;
      for (const auto* sub : app->get_subcommands([](const CLI::App*) { return true; })) {
        if (sub->get_name() == table[i]) next = sub;
        names.push_back(sub->get_name());
      }
      if (next == nullptr) {
        const std::vector<std::string> prefix(table.begin(), table.begin() + static_cast<long>(i));
        DDIM_CHECK_ARG(false, "{}:{}: unknown table [{}]: {} has no command '{}'{}", path, line,
                       fmt::join(table, "."),
                       fmt::format("ddim{}{}", prefix.empty() ? "" : " ", fmt::join(prefix, " ")), table[i],
                       names.empty() ? std::string() : fmt::format(" (valid: {})", fmt::join(names, ", ")));
      }
      app = next;
    }
    return app;
  }

  static const CLI::Option* find_option(const CLI::App& app, const std::string& key) {
    const CLI::Option* opt = app.get_option_no_throw("--" + key);
    if (opt == nullptr && key.size() == 1) opt = app.get_option_no_throw("-" + key);
    if (opt == nullptr) opt = app.get_option_no_throw(key);
    return opt;
  }

  static void check_entry(const CLI::App& app, const ConfigEntry& e, const std::string& path) {
    const auto* opt = find_option(app, e.key);
    DDIM_CHECK_ARG(opt != nullptr, "{}:{}: unknown key '{}' in {} (`{}` lists the options)", path, e.line,
                   e.key, table_name(e.table), command_of(e.table));
    DDIM_CHECK_ARG(opt->get_configurable(), "{}:{}: key '{}' cannot be set in a configuration file", path,
                   e.line, e.key);
    const bool flag = opt->get_expected_min() == 0;  // how CLI11 tells a flag
    DDIM_CHECK_ARG(!e.array || (!flag && opt->get_expected_max() > 1),
                   "{}:{}: key '{}' in {} takes one value, not an array", path, e.line, e.key,
                   table_name(e.table));
    const std::string type = opt->get_type_name();
    auto starts = [&](const char* p) { return type.rfind(p, 0) == 0; };
    // A list option takes a TOML array or one string of delimited items ("32,64,96"): each
    // item is checked.
    std::vector<std::pair<ConfigKind, std::string>> items;
    const char delimiter = opt->get_delimiter();
    for (size_t i = 0; i < e.values.size(); ++i) {
      if (e.kinds[i] != ConfigKind::String || delimiter == '\0' || flag) {
        items.emplace_back(e.kinds[i], e.values[i]);
        continue;
      }
      size_t begin = 0;
      for (size_t end = 0; end != std::string::npos; begin = end + 1) {
        end = e.values[i].find(delimiter, begin);
        items.emplace_back(ConfigKind::String,
                           e.values[i].substr(begin, end == std::string::npos ? end : end - begin));
      }
    }
    for (const auto& [kind, v] : items) {
      const char* expected = nullptr;
      if (flag || starts("BOOLEAN")) {
        if (kind != ConfigKind::Boolean) expected = "true or false";
      } else if (starts("UINT")) {
        if (!((kind == ConfigKind::Integer || kind == ConfigKind::String) && parses_as_integer(v)) ||
            v[0] == '-')
          expected = "a non-negative integer";
      } else if (starts("INT")) {
        if (!((kind == ConfigKind::Integer || kind == ConfigKind::String) && parses_as_integer(v)))
          expected = "an integer";
      } else if (starts("FLOAT")) {
        if (kind == ConfigKind::Boolean || !parses_as_number(v)) expected = "a number";
      }
      DDIM_CHECK_ARG(expected == nullptr, "{}:{}: key '{}' in {} expects {}, got {} '{}'", path, e.line,
                     e.key, table_name(e.table), expected, describe(kind), printable(v));
    }
  }

  const CLI::App* root_;
};

}  // namespace

void use_strict_config(CLI::App& app) {
  app.config_formatter(std::make_shared<StrictConfig>(&app));
  app.allow_config_extras(CLI::config_extras_mode::error);
}

}  // namespace ddim::cli
