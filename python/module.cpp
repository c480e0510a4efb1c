// _ddim: the C++ side of `import ddim` (python/ddim/__init__.py is the Python side).
//
// A thin layer: each function converts its arguments, releases the GIL, makes the library call
// the CLI makes and converts the result. Tensors cross as the same at::Tensor objects that
// PyTorch's Python API wraps (torch/extension.h): no copies, and autograd graphs reach across
// the boundary in both directions. Errors become Python exceptions with ddim's one-line
// message; Ctrl-C during a long call stops it the way it stops the CLI and raises
// KeyboardInterrupt.
#include <torch/extension.h>

#include <pybind11/functional.h>
#include <pybind11/stl.h>

#include <chrono>
#include <csignal>
#include <string>
#include <vector>

#include "cli.h"
#include "common/parallel.h"
#include "common/progress.h"
#include "common/sampling_args.h"
#include "ddim/core/device.h"
#include "ddim/core/error.h"
#include "ddim/core/interrupt.h"
#include "ddim/data/counterfactual.h"
#include "ddim/data/dataset.h"
#include "ddim/diffusion/pipeline.h"
#include "ddim/io/checkpoint.h"
#include "ddim/io/image.h"
#include "ddim/io/tensor_io.h"
#include "ddim/methods/embedding.h"
#include "ddim/methods/interpolation.h"
#include "ddim/methods/model.h"
#include "ddim/pictures/grid.h"

namespace py = pybind11;

namespace {

// ------------------------------------------------------------------ errors

PyObject* g_error = nullptr;  // ddim.Error (RuntimeError): every failure of ddim
PyObject* g_usage = nullptr;  // ddim.UsageError (Error, ValueError): what the CLI exits 2 on
PyObject* g_file = nullptr;   // ddim.FileError (Error, OSError): a missing, corrupt or unwritable file

void translate(std::exception_ptr p) {
  try {
    if (p) std::rethrow_exception(p);
  } catch (const ddim::Interrupted&) {
    PyErr_SetNone(PyExc_KeyboardInterrupt);
  } catch (const ddim::InvalidArgument& e) {
    PyErr_SetString(g_usage, e.what());
  } catch (const ddim::Error& e) {
    PyErr_SetString(g_file, e.what());
  } catch (const c10::Error& e) {
    // LibTorch's message without its backtrace: its first line.
    const std::string m = e.what_without_backtrace();
    PyErr_SetString(g_error, m.substr(0, m.find('\n')).c_str());
  }
}

// ------------------------------------------------------------------ long calls

// SIGINT during a long call: the CLI's request (ddim/core/interrupt.h), polled by the loops;
// the call throws ddim::Interrupted, raised as KeyboardInterrupt. Python's own handler only
// sets a flag that it reads when the call returns, which could take minutes.
void on_sigint(int sig) { ddim::cli::request_stop(sig); }

// Releases the GIL and routes SIGINT to ddim for the lifetime of a long call (installed only
// from the main thread, where Python's handler lives); the caller's handler comes back after.
class LongCall {
 public:
  LongCall() {
    ddim::clear_interrupt();
    ddim::cli::reset_stop_request();
    const auto threading = py::module_::import("threading");
    main_thread_ = threading.attr("current_thread")().is(threading.attr("main_thread")());
    if (main_thread_) {
      struct sigaction sa {};
      sa.sa_handler = on_sigint;
      sigemptyset(&sa.sa_mask);
      sigaction(SIGINT, &sa, &old_);
    }
    release_ = std::make_unique<py::gil_scoped_release>();
  }
  ~LongCall() {
    release_.reset();
    if (main_thread_) sigaction(SIGINT, &old_, nullptr);
  }
  LongCall(const LongCall&) = delete;
  LongCall& operator=(const LongCall&) = delete;

 private:
  bool main_thread_ = false;
  struct sigaction old_ {};
  std::unique_ptr<py::gil_scoped_release> release_;
};

// ------------------------------------------------------------------ JSON

template <class Json>  // nlohmann::json or ordered_json
py::object to_py(const Json& j) {
  return py::module_::import("json").attr("loads")(j.dump());
}

// ------------------------------------------------------------------ options

template <class Enum>
Enum parse_enum(const std::string& value, const char* what) {
  try {
    return ddim::from_string<Enum>(value);
  } catch (const ddim::InvalidArgument& e) {
    throw ddim::InvalidArgument(fmt::format("{}: {}", what, e.what()));
  }
}

std::vector<torch::Tensor> image_list(const torch::Tensor& images) {
  DDIM_CHECK_ARG(images.defined() && images.dim() == 4,
                 "images: expected a tensor [N, C, H, W] in [0, 1], got {} dimensions",
                 images.defined() ? images.dim() : 0);
  DDIM_CHECK_ARG(images.size(0) > 0, "images: the batch is empty");
  std::vector<torch::Tensor> out;
  for (int64_t i = 0; i < images.size(0); ++i) out.push_back(images[i].to(torch::kFloat32));
  return out;
}

// The model's input: images fitted as the CLI fits --images and --data (conform_images); points
// as they are.
torch::Tensor model_input(const ddim::Denoiser& d, const torch::Tensor& x) {
  if (!d.data().is_image()) {
    DDIM_CHECK_ARG(x.dim() == 2 && x.size(1) == d.data().shape[0], "points: expected [N, {}], got {}",
                   d.data().shape[0], fmt::join(x.sizes(), "x"));
    return x.to(torch::kFloat32);
  }
  return ddim::conform_images(image_list(x), d.data());
}

ddim::EmbedOptions embed_options(const std::string& method, int64_t steps, const std::string& end,
                                 const std::string& label, int64_t iters, bool average, int64_t descent_iters,
                                 int64_t refine, double lr, int64_t batch, uint64_t seed, bool embedder) {
  ddim::EmbedOptions o;
  o.method = parse_enum<ddim::EmbedMethod>(method, "method");
  if (embedder && o.method == ddim::EmbedMethod::DDIMInversion) o.method = ddim::EmbedMethod::Embedder;
  DDIM_CHECK_ARG(o.method != ddim::EmbedMethod::Embedder || embedder, "method embedder needs embedder=MODEL");
  DDIM_CHECK_ARG(!embedder || o.method == ddim::EmbedMethod::Embedder,
                 "embedder= cannot be combined with method {}", method);
  o.steps = steps;
  o.end = parse_enum<ddim::GridEnd>(end, "end");
  o.label = parse_enum<ddim::EpsLabel>(label, "label");
  o.iterations = iters;
  o.average = average;
  o.descent_iterations = descent_iters;
  o.refine = refine;
  o.lr = lr;
  o.batch = batch;
  o.seed = seed;
  o.validate();
  return o;
}

// ------------------------------------------------------------------ the model

// A module's named tensors as (name, tensor) pairs, the tensors themselves (no copies).
std::vector<std::pair<std::string, torch::Tensor>> named(
    const torch::OrderedDict<std::string, torch::Tensor>& tensors) {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& t : tensors) out.emplace_back(t.key(), t.value());
  return out;
}

// ddim::Model with the Python surface's conveniences.
struct PyModel {
  ddim::Model m;

  const ddim::Denoiser& denoiser() const { return m.require_denoiser(); }
  /// The network whatever the kind: the denoiser's, the embedder's or the classifier's.
  torch::nn::Module& network() const {
    if (m.embedder) return *m.embedder->network;
    if (m.classifier) return *m.classifier->network;
    return denoiser().network();
  }
  ddim::Embedder* embedder_network() const { return m.embedder ? m.embedder->network.get() : nullptr; }
};

ddim::Condition class_condition(const ddim::Denoiser& d, const py::object& cls, int64_t n, double guidance) {
  if (cls.is_none()) return ddim::Condition({}, guidance);
  std::string name = py::str(cls);
  DDIM_CHECK_ARG(d.network().conditioning() == ddim::Conditioning::Class,
                 "cls={}: this model is not class-conditional", name);
  const auto k = d.data().class_index(name, d.network().classes());
  return ddim::Condition(d.class_condition(torch::full({n}, k, torch::kInt64)), guidance);
}

torch::Tensor sample(const PyModel& self, int64_t n, std::optional<torch::Tensor> seeds_in, uint64_t seed,
                     int64_t steps, double eta, bool clip, const std::string& end, int64_t batch,
                     const py::object& cls, double guidance, std::optional<torch::Tensor> codes_in) {
  const torch::Tensor codes = codes_in ? *codes_in : torch::Tensor();
  const auto& d = self.denoiser();
  const auto grid_end = parse_enum<ddim::GridEnd>(end, "end");
  DDIM_CHECK_ARG(steps > 0, "steps must be positive, got {}", steps);
  DDIM_CHECK_ARG(batch > 0, "batch must be positive, got {}", batch);
  DDIM_CHECK_ARG(eta >= 0, "eta must not be negative, got {}", eta);
  torch::Tensor seeds = seeds_in ? *seeds_in : torch::Tensor();
  if (!seeds.defined()) {
    DDIM_CHECK_ARG(n > 0, "n must be positive, got {}", n);
    seeds = ddim::random_seeds(d.data(), n, seed);  // as `ddim sample --seed` draws them
  } else {
    std::vector<int64_t> want = {seeds.size(0)};
    want.insert(want.end(), d.data().shape.begin(), d.data().shape.end());
    DDIM_CHECK_ARG(seeds.sizes().vec() == want, "seeds: expected [{}], got [{}]", fmt::join(want, ", "),
                   fmt::join(seeds.sizes(), ", "));
  }
  ddim::Condition condition = class_condition(d, cls, seeds.size(0), guidance);
  if (d.network().conditioning() == ddim::Conditioning::Semantic) {
    DDIM_CHECK_ARG(
        codes.defined(),
        "a diffusion autoencoder samples given its semantic codes (codes=[N, {}]; e.g. model.encode)",
        d.network().cond_dim());
    condition = ddim::Condition(codes.to(torch::kFloat32));
  } else {
    DDIM_CHECK_ARG(!codes.defined(), "codes= is for diffusion autoencoders");
  }
  ddim::SampleOptions o;
  o.eta = eta;
  if (clip) o.clip_x0 = d.standardized_range();
  auto eta_gen = ddim::cli::eta_generator(seed);
  o.generator = &eta_gen;
  LongCall call;
  const auto grid = ddim::make_time_grid(d.schedule(), steps, grid_end);
  return d.data().crop(ddim::generate(d, seeds.to(torch::kFloat32), grid, o, batch, {}, condition));
}

py::dict embedding_dict(const ddim::Embedding& e) {
  py::dict r;
  r["seeds"] = e.seeds;
  if (e.codes.defined()) r["codes"] = e.codes;
  if (e.unrefined.defined()) r["unrefined"] = e.unrefined;
  r["seconds"] = e.seconds;
  return r;
}

}  // namespace

PYBIND11_MODULE(_ddim, m) {
  m.doc() = "The C++ core of ddim (see the ddim package).";
  m.attr("__version__") = DDIM_VERSION;

  g_error = PyErr_NewExceptionWithDoc("ddim.Error", "Every failure of ddim: the message is ddim's one line.",
                                      PyExc_RuntimeError, nullptr);
  py::tuple usage_bases = py::make_tuple(py::handle(g_error), py::handle(PyExc_ValueError));
  g_usage = PyErr_NewExceptionWithDoc("ddim.UsageError",
                                      "A bad argument or option value (what the CLI exits 2 on).",
                                      usage_bases.ptr(), nullptr);
  py::tuple file_bases = py::make_tuple(py::handle(g_error), py::handle(PyExc_OSError));
  g_file = PyErr_NewExceptionWithDoc("ddim.FileError",
                                     "A missing, truncated, corrupt or unwritable file, or data that "
                                     "cannot be what it claims (what the CLI exits 1 on).",
                                     file_bases.ptr(), nullptr);
  m.attr("Error") = py::handle(g_error);
  m.attr("UsageError") = py::handle(g_usage);
  m.attr("FileError") = py::handle(g_file);
  py::register_exception_translator(translate);

  m.def(
      "set_threads", [](int n) { return ddim::configure_threads(n); }, py::arg("n"),
      "Sets LibTorch's CPU threads (torch.set_num_threads too: one pool); 0 uses every CPU this\n"
      "process may use. Returns the count in effect.");
  m.def(
      "torch_version", [] { return ddim::torch_version(); }, "The LibTorch version ddim was built with.");

  // The CLI in this process.
  m.def(
      "cli",
      [](std::vector<std::string> args, const py::object& on_progress) {
        args.insert(args.begin(), "ddim");
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        std::exception_ptr callback_error;
        if (!on_progress.is_none()) {
          ddim::cli::set_progress_observer([&](const std::string& label, const std::string& unit,
                                               int64_t done, int64_t total, const std::string& status) {
            if (callback_error) return;
            py::gil_scoped_acquire gil;
            try {
              on_progress(label, unit, done, total, status);
            } catch (...) {
              // The run stops as on Ctrl-C (a trainer saves its checkpoint first); the error is
              // raised when it has.
              callback_error = std::current_exception();
              ddim::cli::request_stop(SIGINT);
            }
          });
        }
        int status = 0;
        {
          py::gil_scoped_release release;
          try {
            status = ddim::cli::run(static_cast<int>(argv.size()), argv.data(), true);
          } catch (...) {
            ddim::cli::set_progress_observer({});
            if (callback_error) std::rethrow_exception(callback_error);
            throw;
          }
        }
        ddim::cli::set_progress_observer({});
        if (callback_error) std::rethrow_exception(callback_error);
        return status;
      },
      py::arg("args"), py::arg("on_progress") = py::none(),
      "Runs a ddim command line in this process (args without the program name) and returns its\n"
      "exit status (0; 128 + the signal when a trainer stopped on Ctrl-C after saving). Errors raise\n"
      "UsageError or FileError; on_progress(label, unit, done, total, status) follows every progress bar.");

  m.def(
      "help", [](const std::vector<std::string>& command) { return ddim::cli::help(command); },
      py::arg("command"), "The --help text of a ddim command ([\"analyze\", \"independence\"]).");

  // ------------------------------------------------------------------ data
  py::class_<ddim::Dataset>(m, "Dataset", "A data set as ddim loads it (ddim.data.load).")
      .def_readonly("spec", &ddim::Dataset::spec)
      .def_property_readonly("split", [](const ddim::Dataset& d) { return ddim::to_string(d.split); })
      .def_readonly("storage", &ddim::Dataset::storage,
                    "uint8 [N, C, H, W] images (or float [N, D] points), shared with ddim (no copy)")
      .def_property_readonly(
          "images", [](const ddim::Dataset& d) { return d.all(); },
          "float32 [N, C, H, W] in [0, 1] (points: [N, D]); a new tensor")
      .def_property_readonly("labels",
                             [](const ddim::Dataset& d) -> py::object {
                               if (!d.labels.defined()) return py::none();
                               return py::cast(d.labels);
                             })
      .def_readonly("classes", &ddim::Dataset::classes)
      .def_property_readonly("ids",
                             [](const ddim::Dataset& d) -> py::object {
                               if (!d.ids.defined()) return py::none();
                               return py::cast(d.ids);
                             })
      .def_readonly("label_attribute", &ddim::Dataset::label_attribute)
      .def_property_readonly(
          "attributes",
          [](const ddim::Dataset& d) {
            py::dict out;
            for (const auto& a : d.attributes) {
              py::dict one;
              one["values"] = a.values;
              one["labels"] = a.labels;
              out[py::str(a.name)] = one;
            }
            return out;
          },
          "{name: {'values': [...], 'labels': int64 [N]}}")
      .def_property_readonly("info",
                             [](const ddim::Dataset& d) { return to_py(ddim::DataInfo::of(d).to_json()); })
      .def_property_readonly("has_counterfactuals",
                             [](const ddim::Dataset& d) { return ddim::has_counterfactuals(d); })
      .def(
          "counterfactuals",
          [](const ddim::Dataset& d, const std::vector<int64_t>& rows, const std::string& attribute,
             const std::vector<std::string>& values) {
            LongCall call;
            return ddim::counterfactuals(d, rows, attribute, values);
          },
          py::arg("rows"), py::arg("attribute"), py::arg("values"),
          "Examples rows[i] rendered again with `attribute` set to values[i] (fonts and faces sets):\n"
          "uint8 [N, C, H, W] like `storage`; an example's own value reproduces it.")
      .def("__len__", &ddim::Dataset::size)
      .def("__repr__", [](const ddim::Dataset& d) {
        return fmt::format("<ddim.Dataset {} {} [{}]>", d.spec, ddim::to_string(d.split),
                           fmt::join(d.storage.sizes(), ", "));
      });

  m.def(
      "load_data",
      [](const std::string& spec, const std::string& split, int64_t limit, int64_t pad_to, int64_t crop,
         int64_t resize, int64_t channels, const std::string& attributes,
         const std::vector<std::string>& where, const std::string& label, uint64_t seed, int64_t toy_size) {
        ddim::DataOptions o;
        o.split = parse_enum<ddim::Split>(split, "split");
        o.limit = limit;
        o.pad_to = pad_to;
        o.crop = crop;
        o.resize = resize;
        o.channels = channels;
        o.attributes_file = attributes;
        o.where = where;
        o.label_attribute = label;
        o.seed = seed;
        o.toy_size = toy_size;
        o.validate();
        const auto parsed = ddim::parse_data_spec(spec);
        LongCall call;
        return ddim::load_dataset(parsed, o);
      },
      py::arg("spec"), py::arg("split") = "train", py::arg("limit") = 0, py::arg("pad_to") = -1,
      py::arg("crop") = 0, py::arg("resize") = 0, py::arg("channels") = 0, py::arg("attributes") = "",
      py::arg("where") = std::vector<std::string>{}, py::arg("label") = "", py::arg("seed") = 0,
      py::arg("toy_size") = 0);

  m.def(
      "write_png",
      [](const std::string& path, const torch::Tensor& image) {
        LongCall call;
        ddim::write_png(path, image);
      },
      py::arg("path"), py::arg("image"),
      "Writes an image [C, H, W] in [0, 1] (C = 1 or 3) as a PNG file, atomically.");
  m.def(
      "make_grid",
      [](const torch::Tensor& images, int64_t columns) { return ddim::make_grid(images, columns); },
      py::arg("images"), py::arg("columns"), "Images [N, C, H, W] -> one grid image [C, H', W'].");
  m.def(
      "seed_to_image", [](const torch::Tensor& seeds) { return ddim::seed_to_image(seeds); },
      py::arg("seeds"), "Seeds (standard normal) -> images in [0, 1] for pictures.");
  m.def(
      "load_tensor",
      [](const std::string& path) {
        LongCall call;
        return ddim::load_tensor(path);
      },
      py::arg("path"));

  // ------------------------------------------------------------------ models
  py::class_<PyModel>(m, "Model", "A model file as ddim loads it (ddim.load).")
      .def_property_readonly("kind", [](const PyModel& s) { return ddim::to_string(s.m.kind); })
      .def_property_readonly("path", [](const PyModel& s) { return s.m.path; })
      .def_property_readonly(
          "description", [](const PyModel& s) { return to_py(s.m.checkpoint.meta); },
          "The checkpoint's metadata (network, schedule, data, training options) as a dict")
      .def_property_readonly("data",
                             [](const PyModel& s) -> py::object {
                               if (!s.m.denoiser) return py::none();
                               return to_py(s.m.denoiser->data().to_json());
                             })
      .def_property_readonly("schedule",
                             [](const PyModel& s) -> py::object {
                               if (!s.m.denoiser) return py::none();
                               return to_py(s.m.denoiser->schedule().options().to_json());
                             })
      .def("rates",
           [](const PyModel& s, const torch::Tensor& t) {
             const auto& sch = s.denoiser().schedule();
             return py::make_tuple(sch.signal_rate(t), sch.noise_rate(t));
           })
      .def("time_grid",
           [](const PyModel& s, int64_t steps, const std::string& end) {
             DDIM_CHECK_ARG(steps > 0, "steps must be positive, got {}", steps);
             const auto g =
                 ddim::make_time_grid(s.denoiser().schedule(), steps, parse_enum<ddim::GridEnd>(end, "end"));
             std::vector<double> sig, noise;
             for (const auto& r : g.rates) {
               sig.push_back(r.signal);
               noise.push_back(r.noise);
             }
             return py::make_tuple(torch::tensor(g.times, torch::kFloat64),
                                   torch::tensor(sig, torch::kFloat64),
                                   torch::tensor(noise, torch::kFloat64));
           })
      .def_property_readonly("is_training",
                             [](const PyModel& s) { return s.denoiser().network().is_training(); })
      .def("train_mode", [](PyModel& s, bool on) { s.denoiser().network().train(on); })
      .def("parameters", [](const PyModel& s) { return s.network().parameters(); })
      .def("named_parameters", [](const PyModel& s) { return named(s.network().named_parameters()); })
      .def("named_buffers", [](const PyModel& s) { return named(s.network().named_buffers()); })
      .def("denoiser",
           [](const PyModel& s, const torch::Tensor& x, const torch::Tensor& noise_var,
              std::optional<torch::Tensor> cond) {
             auto& net = s.denoiser().network();
             auto v = noise_var;
             if (v.dim() == 0) v = v.expand({x.size(0)});
             return net.forward(x, v, cond ? *cond : torch::Tensor());
           })
      .def("standardize",
           [](const PyModel& s, const torch::Tensor& x) { return s.denoiser().standardize(x); })
      .def("to_data", [](const PyModel& s, const torch::Tensor& x) { return s.denoiser().to_data(x); })
      .def(
          "condition",
          [](const PyModel& s, const torch::Tensor& x0) { return s.denoiser().network().condition(x0); },
          py::arg("x0"))
      .def("save",
           [](const PyModel& s, const std::string& path, bool release) {
             // The network's current weights become the checkpoint's: a release file holds the
             // EMA state, a training one both (a fine-tuned model has no separate average).
             auto ck = s.m.checkpoint;
             DDIM_CHECK_ARG(s.m.denoiser && s.m.kind != ddim::ModelKind::Gae,
                            "save: only denoisers (plain, class-conditional, Diff-AE) can be saved, not a {}",
                            ddim::to_string(s.m.kind));
             const auto state = ddim::module_state(s.m.denoiser->network());
             ck.states["ema"] = state;
             if (ck.states.count("model")) ck.states["model"] = state;
             LongCall call;
             ddim::save_checkpoint(path, release ? ddim::release_checkpoint(ck) : ck);
           })
      .def("sample", &sample)
      .def("embed",
           [](const PyModel& s, const torch::Tensor& images, const std::string& method, int64_t steps,
              const std::string& end, const std::string& label, int64_t iters, bool average,
              int64_t descent_iters, int64_t refine, double lr, int64_t batch, uint64_t seed,
              const PyModel* embedder) {
             const auto& d = s.denoiser();
             const auto o = embed_options(method, steps, end, label, iters, average, descent_iters, refine,
                                          lr, batch, seed, embedder != nullptr);
             o.validate(d);
             const auto x = model_input(d, images);
             ddim::Embedding e;
             {
               LongCall call;
               e = ddim::embed_images(d, x, o, embedder ? embedder->embedder_network() : nullptr);
             }
             return embedding_dict(e);
           })
      .def("invert",
           [](const PyModel& s, const torch::Tensor& images, int64_t steps, const std::string& end,
              const std::string& method, const std::string& label, int64_t iters, bool average, int64_t batch,
              const py::object& cls, double guidance) {
             const auto& d = s.denoiser();
             ddim::InvertOptions o;
             o.method = parse_enum<ddim::InversionMethod>(method, "method");
             o.label = parse_enum<ddim::EpsLabel>(label, "label");
             o.iterations = iters;
             o.average = average;
             const auto x = model_input(d, images);
             const auto cond = class_condition(d, cls, x.size(0), guidance);
             const auto grid =
                 ddim::make_time_grid(d.schedule(), steps, parse_enum<ddim::GridEnd>(end, "end"));
             LongCall call;
             return ddim::invert(d, x, grid, o, batch, {}, cond);
           })
      .def("reconstruct",
           [](const PyModel& s, const torch::Tensor& images, const std::string& method, int64_t steps,
              const std::string& end, const std::string& label, int64_t iters, bool average,
              int64_t descent_iters, int64_t refine, double lr, int64_t batch, uint64_t seed,
              const PyModel* embedder, bool random_xt) {
             const auto& d = s.denoiser();
             const auto o = embed_options(method, steps, end, label, iters, average, descent_iters, refine,
                                          lr, batch, seed, embedder != nullptr);
             o.validate(d);
             const auto x = model_input(d, images);
             ddim::Reconstruction r;
             {
               LongCall call;
               r = ddim::reconstruct_images(d, x, o, embedder ? embedder->embedder_network() : nullptr,
                                            random_xt);
             }
             py::dict out = embedding_dict(r.embedding);
             out["decoded"] = r.decoded;
             out["outputs"] = r.outputs;
             out["originals"] = d.data().crop(x);
             out["metrics"] = to_py(r.report.to_json());
             if (r.before_refinement)
               out["before_refinement"] = to_py(r.before_refinement->to_json()["mean"]);
             return out;
           })
      .def("interpolate",
           [](const PyModel& s, const torch::Tensor& ends, int64_t frames, const std::string& mode,
              const std::string& method, int64_t steps, const std::string& end, const std::string& label,
              int64_t iters, bool average, int64_t descent_iters, int64_t refine, double lr, int64_t batch,
              uint64_t seed, const PyModel* embedder) {
             const auto& d = s.denoiser();
             const auto o = embed_options(method, steps, end, label, iters, average, descent_iters, refine,
                                          lr, batch, seed, embedder != nullptr);
             o.validate(d);
             const auto x = model_input(d, ends);
             DDIM_CHECK_ARG(x.size(0) == 2, "ends: expected the two end images [2, C, H, W], got {}",
                            x.size(0));
             const auto how = parse_enum<ddim::Interpolation>(mode, "mode");
             ddim::ImageInterpolation r;
             {
               LongCall call;
               r = ddim::interpolate_images(d, x, frames, how, o,
                                            embedder ? embedder->embedder_network() : nullptr);
             }
             py::dict out;
             out["seeds"] = r.seeds;
             if (r.codes.defined()) out["codes"] = r.codes;
             out["frames"] = r.frames;
             out["blend"] = r.blend;
             out["ends"] = to_py(r.ends.to_json());
             out["frame_to_frame_mse"] = r.frame_to_frame_mse;
             return out;
           })
      .def("encode",
           [](const PyModel& s, const torch::Tensor& images, int64_t batch) {
             const auto& d = s.denoiser();
             DDIM_CHECK_ARG(d.network().conditioning() == ddim::Conditioning::Semantic,
                            "{} is not a diffusion autoencoder: it has no semantic encoder", s.m.path);
             const auto x = model_input(d, images);
             LongCall call;
             return ddim::semantic_codes(d, x, batch);
           })
      .def("embedder_forward",
           [](const PyModel& s, const torch::Tensor& images) {
             DDIM_CHECK_ARG(s.m.embedder.has_value(), "{} is a {}, not an embedder", s.m.path,
                            ddim::to_string(s.m.kind));
             return s.m.embedder->network->forward(images);
           })
      .def("__repr__", [](const PyModel& s) {
        return fmt::format("<ddim.Model {} {}>", ddim::to_string(s.m.kind), s.m.path);
      });

  // For bench/python_overhead.py: the same forward passes as a Python loop over model.denoiser,
  // timed in C++ (no Python between them).
  m.def("_time_denoiser",
        [](const PyModel& s, const torch::Tensor& x, const torch::Tensor& noise_var, int64_t reps) {
          auto& net = s.denoiser().network();
          torch::NoGradGuard no_grad;
          LongCall call;
          const auto start = std::chrono::steady_clock::now();
          for (int64_t i = 0; i < reps; ++i) (void)net.forward(x, noise_var, {});
          return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        });

  m.def(
      "load",
      [](const std::string& path, const std::string& weights, bool bf16, const std::string& device) {
        ddim::LoadOptions o;
        o.weights = parse_enum<ddim::Weights>(weights, "weights");
        o.bf16 = bf16;
        o.device = ddim::parse_device(device);
        LongCall call;
        return PyModel{ddim::load_model(path, o)};
      },
      py::arg("path"), py::arg("weights") = "ema", py::arg("bf16") = false, py::arg("device") = "cpu");
}
