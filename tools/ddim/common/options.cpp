#include "common/options.h"

#include "common/app.h"
#include "ddim/io/config_file.h"

namespace ddim::cli {
namespace {

std::map<const CLI::Option*, std::function<std::string(const std::string&)>>& value_names() {
  static std::map<const CLI::Option*, std::function<std::string(const std::string&)>> names;
  return names;
}

// A TOML value: numbers and booleans bare, everything else quoted.
std::string toml_value(const std::string& v) {
  if (v == "true" || v == "false") return v;
  if (is_config_number(v)) return v;
  std::string q = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\')
      q += std::string("\\") + c;
    else if (static_cast<unsigned char>(c) < 0x20)
      q += fmt::format("\\u{:04x}", static_cast<unsigned char>(c));
    else
      q += c;
  }
  return q + "\"";
}

// The value of one option as TOML, or "" to leave it out.
std::string option_value(const CLI::Option& opt) {
  const auto it = value_names().find(&opt);
  auto name = [&](const std::string& v) { return it == value_names().end() ? v : it->second(v); };
  const auto values = opt.reduced_results();
  if (values.empty()) {
    if (opt.get_type_size() == 0) return "false";  // a flag that was not given
    const auto d = opt.get_default_str();
    if (d.empty()) return "";  // no value and no default: leave it out
    if (opt.get_items_expected_max() <= 1) return toml_value(name(d));
    std::string out = "[";  // a list option's default, "32,64,96"
    size_t begin = 0;
    for (size_t end = 0; end != std::string::npos; begin = end + 1) {
      end = d.find(',', begin);
      out += (begin ? ", " : "") + toml_value(d.substr(begin, end == std::string::npos ? end : end - begin));
    }
    return out + "]";
  }
  if (opt.get_type_size() == 0) return values[0] == "0" || values[0] == "false" ? "false" : "true";
  if (values.size() == 1 && opt.get_items_expected_max() <= 1) return toml_value(name(values[0]));
  std::string out = "[";
  for (size_t i = 0; i < values.size(); ++i) out += (i ? ", " : "") + toml_value(name(values[i]));
  return out + "]";
}

void write_options(const CLI::App& app, std::string& out) {
  for (const auto* opt : app.get_options()) {
    const auto name = opt->get_single_name();
    if (name.empty() || name == "help" || name == "help-all" || name == "config" || name == "version" ||
        opt->get_positional())
      continue;
    const auto value = option_value(*opt);
    if (!value.empty()) out += fmt::format("{} = {}\n", name, value);
  }
}

void write_section(const CLI::App& app, const std::string& prefix, std::string& out) {
  for (const auto* sub : app.get_subcommands()) {  // only the parsed ones
    const std::string name = prefix.empty() ? sub->get_name() : prefix + "." + sub->get_name();
    out += "\n[" + name + "]\n";
    write_options(*sub, out);
    write_section(*sub, name, out);
  }
}

CLI::Validator number_validator(const std::string& what, std::function<bool(double)> ok,
                                const std::string& name) {
  return CLI::Validator(
      [what, ok](std::string& value) -> std::string {
        try {
          size_t used = 0;
          const double v = std::stod(value, &used);
          if (used == value.size() && ok(v)) return {};
        } catch (...) {
        }
        return "must be " + what + ", got '" + value + "'";
      },
      name);
}

}  // namespace

void register_value_names(const CLI::Option* option, std::function<std::string(const std::string&)> name_of) {
  value_names()[option] = std::move(name_of);
}

const CLI::Validator kPositive = number_validator(
    "a positive number", [](double v) { return v > 0; }, "POSITIVE");
const CLI::Validator kNonNegative = number_validator(
    "zero or a positive number", [](double v) { return v >= 0; }, "NON-NEGATIVE");

std::string effective_config() {
  const CLI::App* root = root_app();
  if (!root) return {};
  std::string out =
      "# The effective options of this run: `ddim --config config.toml <command>` repeats it\n"
      "# (options given on the command line override the file).\n";
  write_options(*root, out);
  write_section(*root, "", out);
  return out;
}

void forget_value_names() { value_names().clear(); }

}  // namespace ddim::cli
