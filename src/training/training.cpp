#include "ddim/training/training.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "ddim/core/error.h"
#include "ddim/core/file.h"
#include "ddim/core/interrupt.h"
#include "ddim/core/rng.h"

namespace fs = std::filesystem;

namespace ddim {
namespace {

std::string checkpoint_name(const std::string& dir, int64_t step) {
  return fmt::format("{}/checkpoints/step-{:08d}.pt", dir, step);
}

void prune(const std::string& dir, int64_t keep) {
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir + "/checkpoints", ec))
    if (e.path().extension() == ".pt" && e.path().filename().string().rfind("step-", 0) == 0)
      files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  for (size_t i = 0; i + static_cast<size_t>(keep) < files.size(); ++i) fs::remove(files[i], ec);
}

void append_line(const std::string& path, const std::string& line) {
  std::ofstream out(path, std::ios::app);
  DDIM_CHECK(out.good(), "{}: cannot append metrics", path);
  out << line << '\n';
}

}  // namespace

EpochOrder::EpochOrder(int64_t examples, int64_t batch, uint64_t seed, int64_t world, int64_t rank)
    : examples_(examples), batch_(batch), world_(world), rank_(rank), seed_(seed) {
  DDIM_CHECK_ARG(batch > 0, "the batch size must be positive, got {}", batch);
  DDIM_CHECK_ARG(examples >= batch * world,
                 "the batch ({} examples{}) is larger than the data ({} examples): lower the batch size",
                 batch * world, world > 1 ? fmt::format(" over {} processes", world) : "", examples);
  steps_per_epoch_ = examples / (batch * world);
}

torch::Tensor EpochOrder::indices(int64_t step) {
  const int64_t epoch = step / steps_per_epoch_, pos = step % steps_per_epoch_;
  if (epoch != cached_epoch_) {
    auto gen = make_generator(mix_seed(seed_, /*order stream*/ 1, epoch));
    order_ = randperm(examples_, gen);
    cached_epoch_ = epoch;
  }
  auto global = order_.narrow(0, pos * batch_ * world_, batch_ * world_);
  return global.narrow(0, rank_ * batch_, batch_);
}

int64_t RunStart::step() const {
  if (!resuming()) return 0;
  const auto s = meta_get<int64_t>(resumed.meta, "step", checkpoint);
  DDIM_CHECK_ARG(s >= 0, "{}: checkpoint metadata: key 'step': {} is not a step count", checkpoint, s);
  return s;
}

const nlohmann::json& RunStart::meta(const std::string& key) const {
  DDIM_CHECK_ARG(resumed.meta.contains(key),
                 "{}: checkpoint metadata has no '{}' (not made by a ddim training run?)", checkpoint, key);
  return resumed.meta.at(key);
}

RunOptions RunStart::run_options(const RunOptions& given) const {
  if (!resuming()) return given;
  meta("run");  // absent: "not made by a ddim training run?"
  auto o = parse("run", [&](const nlohmann::json& j) { return RunOptions::from_json(j, given); });
  o.dir = given.dir.empty() ? dir : given.dir;
  return o;
}

DataSource RunStart::data(const DataSource& given) const {
  if (!resuming()) return given;
  uint64_t seed = given.options.seed;
  if (resumed.meta.contains("train"))
    seed = parse("train", [&](const nlohmann::json& t) { return t.value("seed", seed); });
  meta("data_options");  // absent: "not made by a ddim training run?"
  return parse("data_options", [&](const nlohmann::json& j) { return DataSource::from_json(j, seed); });
}

RunStart start_run(const std::string& out, const std::string& resume_dir, const std::string& kind,
                   bool check_new) {
  RunStart r;
  std::error_code ec;
  if (!resume_dir.empty()) {
    DDIM_CHECK_ARG(out.empty() || (fs::exists(out, ec) && fs::equivalent(out, resume_dir, ec)),
                   "resuming {} continues that run in place; give no other output directory ({})", resume_dir,
                   out);
    r.dir = resume_dir;
    r.checkpoint = latest_checkpoint(resume_dir);
    r.resumed = load_checkpoint(r.checkpoint, kind);
    return r;
  }
  DDIM_CHECK_ARG(!out.empty(), "a new run needs an output directory (or a run directory to resume)");
  DDIM_CHECK_ARG(!check_new || !fs::exists(out + "/model.pt", ec),
                 "{} already holds a training run; resume it or choose another output directory", out);
  r.dir = out;
  return r;
}

nlohmann::json run_meta(const DataSource& data, const RunOptions& run) {
  return {{"data_options", data.to_json()}, {"run", run.to_json()}};
}

int64_t resolve_steps(int64_t steps, int64_t epochs, int64_t steps_per_epoch, int64_t fallback) {
  if (steps > 0) return steps;
  if (epochs > 0) return epochs * std::max<int64_t>(1, steps_per_epoch);
  return fallback;
}

std::vector<std::pair<int64_t, std::string>> run_checkpoints(const std::string& dir) {
  std::error_code ec;
  DDIM_CHECK(fs::is_directory(dir, ec), "{}: no such run directory", dir);
  std::vector<std::pair<int64_t, std::string>> files;
  for (const auto& e : fs::directory_iterator(dir + "/checkpoints", ec)) {
    const auto name = e.path().filename().string();
    if (name.size() != 16 || name.rfind("step-", 0) != 0 || e.path().extension() != ".pt") continue;
    const auto digits = name.substr(5, 8);
    if (digits.find_first_not_of("0123456789") != std::string::npos) continue;
    files.emplace_back(std::stoll(digits), e.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::string latest_checkpoint(const std::string& dir) {
  std::error_code ec;
  DDIM_CHECK(fs::is_directory(dir, ec), "{}: no such run directory", dir);
  if (fs::exists(dir + "/model.pt", ec)) return dir + "/model.pt";
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(dir + "/checkpoints", ec))
    if (e.path().extension() == ".pt") files.push_back(e.path().string());
  DDIM_CHECK(!files.empty(), "{}: the run directory has no checkpoint (model.pt or checkpoints/)", dir);
  std::sort(files.begin(), files.end());
  return files.back();
}

void RunOptions::validate() const {
  DDIM_CHECK_ARG(steps > 0, "the number of training steps must be positive, got {}", steps);
  DDIM_CHECK_ARG(checkpoint_every > 0 && log_every > 0 && keep > 0,
                 "checkpoint interval, log interval and kept checkpoints must be positive, got {}, {} and {}",
                 checkpoint_every, log_every, keep);
  DDIM_CHECK_ARG(preview_every >= 0, "the preview interval must not be negative, got {}", preview_every);
}

nlohmann::json RunOptions::to_json() const { return fields_to_json(*this); }

RunOptions RunOptions::from_json(const nlohmann::json& j, const RunOptions& defaults) {
  try {
    return fields_from_json(j, defaults);
  } catch (const nlohmann::json::exception& e) {
    throw InvalidArgument(fmt::format("run options: {}", e.what()));
  } catch (const InvalidArgument& e) {
    throw InvalidArgument(fmt::format("run options: {}", e.what()));
  }
}

RunResult run_training(TrainingTask& task, const RunOptions& o, int64_t start_step, const RunCallbacks& cb) {
  o.validate();
  DDIM_CHECK_ARG(start_step >= 0 && start_step <= o.steps, "cannot start at step {} of {}", start_step,
                 o.steps);
  const bool files = task.writes_files();
  const int64_t preview_every = o.preview_every > 0 ? o.preview_every : o.checkpoint_every;
  if (files) make_directories(o.dir + "/checkpoints");
  const auto start = std::chrono::steady_clock::now();
  auto interval_start = start;
  RunResult result;
  int64_t step = start_step;
  int64_t interval_steps = 0;
  double last_loss = NAN;
  torch::Tensor loss_sum;  // on the device: no host sync until a log point

  auto write_checkpoint = [&] {
    if (!files) return;
    const auto ck = task.checkpoint(step);
    const auto path = checkpoint_name(o.dir, step);
    save_checkpoint(path, ck);
    fs::copy_file(path, o.dir + "/model.pt.tmp", fs::copy_options::overwrite_existing);
    fs::rename(o.dir + "/model.pt.tmp", o.dir + "/model.pt");
    prune(o.dir, o.keep);
    result.checkpoint = path;
    if (cb.on_event) cb.on_event(fmt::format("checkpoint {}", path));
  };
  // A non-finite loss anywhere in the interval makes the sum non-finite.
  auto check_finite = [&](double value) {
    DDIM_CHECK(std::isfinite(value),
               "the training loss became {} before step {}; stopped without saving (the last good checkpoint "
               "is {}). Lower the learning rate or enable gradient clipping.",
               value, step,
               result.checkpoint.empty() ? "the one this run started from, if any" : result.checkpoint);
  };
  auto log_point = [&] {
    const double mean = loss_sum.item<double>() / static_cast<double>(interval_steps);
    check_finite(mean);
    last_loss = mean;
    const auto now = std::chrono::steady_clock::now();
    const double interval_s = std::chrono::duration<double>(now - interval_start).count();
    nlohmann::json line = {
        {"step", step},
        {"loss", mean},
        {"lr", task.learning_rate(step - 1)},
        {"examples_per_s", interval_s > 0 ? interval_steps * task.examples_per_step() / interval_s : 0.0},
        {"elapsed_s", std::chrono::duration<double>(now - start).count()}};
    line.update(task.log_values(step));
    if (files) append_line(o.dir + "/metrics.jsonl", line.dump());
    if (cb.on_metrics) cb.on_metrics(line);
    loss_sum = torch::Tensor();
    interval_steps = 0;
    interval_start = std::chrono::steady_clock::now();
  };

  while (step < o.steps) {
    bool stopping = false, checkpointing = false;
    {
      // Steps and log points finish even when interrupted; the stop request below ends the run.
      InterruptDeferral defer;
      auto loss = task.step(step).detach();
      loss_sum = loss_sum.defined() ? loss_sum + loss : loss;
      ++interval_steps;
      ++step;
      if (cb.on_step) cb.on_step(step, last_loss);
      stopping = cb.stop_requested ? cb.stop_requested() : interrupt_requested();
      checkpointing = step % o.checkpoint_every == 0 || step == o.steps || stopping;
      if (step % o.log_every == 0 || checkpointing) log_point();
    }
    // The checkpoint first: a preview (sampling) may take long, and a stop during it must not
    // lose the step's weights.
    if (checkpointing) write_checkpoint();
    if (stopping) {
      result.end = RunEnd::Stopped;
      break;
    }
    if (files && cb.on_preview && (step % preview_every == 0 || step == o.steps)) {
      try {
        if (auto preview = task.preview(step)) cb.on_preview(step, *preview);
      } catch (const Interrupted&) {
        // The next step's stop request ends the run (so that data-parallel processes agree);
        // after the last step there is none, and the run ends here, its checkpoint written.
        if (cb.on_event) cb.on_event(fmt::format("preview at step {} interrupted", step));
        if (step == o.steps) result.end = RunEnd::Stopped;
      }
    }
  }
  result.step = step;
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace ddim
