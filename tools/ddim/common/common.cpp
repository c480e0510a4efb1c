#include "common/common.h"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>

#include "common/progress.h"
#include "ddim/core/device.h"
#include "ddim/core/error.h"
#include "ddim/core/file.h"
#include "ddim/core/interrupt.h"
#include "ddim/data/faces.h"
#include "ddim/io/config_file.h"

namespace ddim::cli {
namespace {
CLI::App* g_root = nullptr;
volatile std::sig_atomic_t g_stop_signal = 0;
void record_stop(int sig) {
  if (g_stop_signal != 0) {
    // A second signal: the first one is being honoured, this one ends the process now.
    std::signal(sig, SIG_DFL);
    std::raise(sig);
    return;
  }
  g_stop_signal = sig;
  ddim::request_interrupt(sig);
}

std::map<const CLI::Option*, std::function<std::string(const std::string&)>>& value_names() {
  static std::map<const CLI::Option*, std::function<std::string(const std::string&)>> names;
  return names;
}

// Whether the parsed subcommand (or one of its parents) was given --bf16, on the command line
// or in a --config file.
bool bf16_requested() {
  for (const CLI::App* app = g_root; app != nullptr;) {
    const auto* opt = app->get_option_no_throw("--bf16");
    if (opt != nullptr && opt->count() > 0 && opt->as<bool>()) return true;
    const auto subs = app->get_subcommands();
    app = subs.empty() ? nullptr : subs.front();
  }
  return false;
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

std::function<bool()> install_stop_handler() {
  struct sigaction sa {};
  sa.sa_handler = record_stop;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  return [] { return g_stop_signal != 0; };
}

int stop_signal() { return g_stop_signal; }

Parallel init_parallel(int timeout_s, torch::Device& device) {
  Parallel p;
  const auto env = distributed_env();
  if (!env) return p;
  if (device.is_cuda()) device = torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(env->local_rank));
  if (env->rank != 0) {
    // Rank 0 speaks for the job; the others report only warnings and errors.
    for (auto& sink : spdlog::default_logger()->sinks()) sink->set_level(spdlog::level::warn);
  }
  spdlog::info("rank {} of {} ({}): joining the process group at {}:{}", env->rank, env->world_size,
               env->launcher, env->master_addr, env->master_port);
  p.group = std::make_unique<ProcessGroup>(*env, std::chrono::seconds(timeout_s));
  return p;
}

std::function<bool()> stop_request(const Parallel& parallel) {
  auto local = install_stop_handler();
  if (!parallel.group) return local;
  auto* group = parallel.group.get();
  return [local, group] { return group->any(local()); };
}

GlobalOptions& global_options() {
  static GlobalOptions options;
  return options;
}

Action& selected_action() {
  static Action action;
  return action;
}

void on_run(CLI::App* sub, Action action) {
  sub->callback([action = std::move(action)] { selected_action() = action; });
}

void set_root_app(CLI::App* app) { g_root = app; }

void register_value_names(const CLI::Option* option, std::function<std::string(const std::string&)> name_of) {
  value_names()[option] = std::move(name_of);
}

void init_logging(const std::string& level) {
  auto console = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  std::string wanted = level;
  if (const char* env = std::getenv("SPDLOG_LEVEL"); env && level == "info") wanted = env;
  console->set_level(spdlog::level::from_str(wanted));
  console->set_pattern("[%H:%M:%S] %^%l%$: %v");
  auto logger = std::make_shared<spdlog::logger>("ddim", console);
  logger->set_level(spdlog::level::debug);
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

torch::Device init_runtime() {
  const auto& g = global_options();
  const int threads = configure_threads(g.threads);
  set_tf32(g.tf32);
  const auto device = parse_device(g.device);
  spdlog::debug("LibTorch {}, {} CPU threads, device {}", torch_version(), threads, device.str());
  if (device.is_cpu() && bf16_requested() && !cpu_has_bf16_units())
    spdlog::warn("--bf16 on a CPU without AVX512-BF16 or AMX: bf16 is emulated and likely slower than fp32");
  return device;
}

std::string effective_config() {
  if (!g_root) return {};
  std::string out =
      "# The effective options of this run: `ddim --config config.toml <command>` repeats it\n"
      "# (options given on the command line override the file).\n";
  write_options(*g_root, out);
  write_section(*g_root, "", out);
  return out;
}

void open_run_dir(const std::string& dir) {
  make_directories(dir);
  if (g_root) write_file_atomic(dir + "/config.toml", effective_config());
  auto file = std::make_shared<spdlog::sinks::basic_file_sink_mt>(dir + "/log.txt", /*truncate=*/false);
  file->set_level(spdlog::level::debug);
  file->set_pattern("[%Y-%m-%d %H:%M:%S.%e] %l: %v");
  spdlog::default_logger()->sinks().push_back(file);
}

void write_json(const std::string& path, const nlohmann::ordered_json& json) {
  write_file_atomic(path, json.dump(2) + "\n");
}

DataSource seeded(DataSource source) {
  source.options.seed = global_options().seed;
  return source;
}

std::optional<Dataset> validation_split(const DataSource& source) {
  if (!source.has_split(Split::Test)) return std::nullopt;
  return source.with_split(Split::Test).load();
}

const CLI::Validator kPositive = number_validator(
    "a positive number", [](double v) { return v > 0; }, "POSITIVE");
const CLI::Validator kNonNegative = number_validator(
    "zero or a positive number", [](double v) { return v >= 0; }, "NON-NEGATIVE");

namespace {
std::vector<std::pair<const CLI::App*, const DataSource*>>& data_options_registry() {
  static std::vector<std::pair<const CLI::App*, const DataSource*>> registry;
  return registry;
}
}  // namespace

void render_missing_faces() {
  for (const auto& [sub, source] : data_options_registry()) {
    if (!sub->parsed() || source->spec.empty()) continue;  // empty: the model's own data
    const auto spec = parse_data_spec(source->spec);
    // Only the cache renders itself: a DIR the user names must hold a set (the loader says how
    // to render one), so that a mistyped path does not start a render of minutes.
    if (spec.name != "faces" || !spec.path.empty()) continue;
    const auto dir = default_faces_dir();
    std::error_code ec;
    if (is_face_set(dir) || (std::filesystem::exists(dir, ec) && !std::filesystem::is_empty(dir, ec)))
      continue;
    FaceOptions faces;
    faces.seed = 0;  // the canonical set, whatever --seed says (ddim data render-faces takes it)
    spdlog::info(
        "faces: first use: rendering {} faces at {}x{} into {} (once; `ddim data render-faces` "
        "renders other sets)",
        faces.count, faces.size, faces.size, dir);
    Progress bar("render faces", faces.count, "faces");
    render_face_set(dir, faces, [&](int64_t done, int64_t) { bar.update(done); });
    bar.finish();
  }
}

void add_data_options(CLI::App* sub, DataSource& s, Split split) {
  data_options_registry().emplace_back(sub, &s);
  s.options.split = split;
  auto& o = s.options;
  sub->add_option("--data", s.spec,
                  "Data set: fashion-mnist[:DIR], mnist:DIR, cifar10:DIR, folder:DIR, "
                  "toy:circles|two-moons|gaussian, fonts[:FONT_DIR], faces[:DIR] (rendered on first use)")
      ->capture_default_str();
  add_enum_option(sub, "--split", o.split, "Which split");
  sub->add_option("--limit", o.limit, "Use only the first N examples of the split (0: all)")
      ->check(kNonNegative)
      ->capture_default_str();
  sub->add_option("--pad-to", o.pad_to,
                  "Pad images with zeros to SIZExSIZE (-1: next multiple of 8, so 28x28 -> "
                  "32x32; 0: never)")
      ->check(CLI::Range(int64_t{-1}, int64_t{1} << 16))
      ->capture_default_str();
  sub->add_option("--crop", o.crop, "folder: crop the central square of this side first (0: no crop)")
      ->check(kNonNegative)
      ->capture_default_str();
  sub->add_option(
         "--resize", o.resize,
         "folder, faces: resize to SIZExSIZE after cropping (0: keep); fonts: the image side (0: 32)")
      ->check(kNonNegative)
      ->capture_default_str();
  sub->add_option("--channels", o.channels, "folder, faces: 1 (gray) or 3 (RGB); 0: as the files are")
      ->check(CLI::IsMember({0, 1, 3}))
      ->capture_default_str();
  sub->add_option("--toy-size", o.toy_size, "toy sets: number of points (0: 10000 train, 2000 test)")
      ->check(kNonNegative)
      ->capture_default_str();
  sub->add_option("--attributes", o.attributes_file,
                  "folder: attributes of the images, a CSV file (file,NAME1,NAME2,...) or CelebA's "
                  "list_attr_celeba.txt");
  sub->add_option("--class-attribute", o.label_attribute,
                  "The attribute used as the class label (default: letter for fonts, male for faces, "
                  "the first column of --attributes)");
  sub->add_option(
      "--where", o.where,
      "Keep only the examples with these attribute values, NAME=VALUE[,VALUE...] with FIRST..LAST "
      "for a range in the attribute's order; repeat for several attributes (fonts, faces, folder "
      "with --attributes), e.g. --where letter=A..Z --where size=small,large");
}

std::vector<double> to_vector(const torch::Tensor& t) {
  auto c = t.detach().to(torch::kCPU, torch::kFloat64).contiguous().flatten();
  return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace ddim::cli
