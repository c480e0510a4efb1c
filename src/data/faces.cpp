#include "ddim/data/faces.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "data/part.h"
#include "ddim/core/error.h"
#include "ddim/core/file.h"
#include "ddim/core/process.h"
#include "ddim/data/image_folder.h"

#ifndef DDIM_FACES_GENERATOR_DIR
#define DDIM_FACES_GENERATOR_DIR "tools/faces"
#endif

namespace fs = std::filesystem;

namespace ddim {
namespace {

const char* kInstall = "scripts/install-faces.sh";

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

// A scratch folder for the oracle's request and result files, removed on scope exit.
struct ScratchDir {
  std::string path;
  ScratchDir() {
    std::string tmpl = (fs::temp_directory_path() / "ddim-faces-XXXXXX").string();
    DDIM_CHECK(::mkdtemp(tmpl.data()) != nullptr, "cannot create a temporary folder under {}",
               fs::temp_directory_path().string());
    path = tmpl;
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

// Runs render.mjs; a usage error of the renderer (status 2) is the caller's bad value.
void run_renderer(std::vector<std::string> args, const std::function<void(const std::string&)>& on_line) {
  check_faces_generator();
  args.insert(args.begin(), {"node", faces_generator_dir() + "/render.mjs"});
  const auto r = run_process(args, on_line);
  if (r.status == 0) return;
  const std::string said =
      r.last_error_line.empty() ? std::string("no message") : printable(r.last_error_line, 300);
  if (r.status == 2) throw InvalidArgument(said);
  DDIM_FAIL("the faces renderer failed with status {}: {}", r.status, said);
}

}  // namespace

void FaceOptions::validate() const {
  DDIM_CHECK_ARG(size >= 16 && size <= 512, "faces: the image size must be 16..512, got {}", size);
  DDIM_CHECK_ARG(count >= 1, "faces: the count must be at least 1, got {}", count);
  DDIM_CHECK_ARG(jobs >= 0, "faces: the renderer's jobs must not be negative, got {}", jobs);
  for (const auto& [name, prob] : p)
    DDIM_CHECK_ARG(prob >= 0 && prob <= 1, "faces: the probability of {} must be in [0, 1], got {}",
                   printable(name), prob);
}

std::vector<std::string> FaceOptions::arguments() const {
  std::vector<std::string> a = {"--size", std::to_string(size), "--seed", std::to_string(seed)};
  for (const auto& [name, prob] : p) a.insert(a.end(), {"--p", fmt::format("{}={}", name, prob)});
  for (const auto& name : uniform) a.insert(a.end(), {"--uniform", name});
  if (jobs > 0) a.insert(a.end(), {"--jobs", std::to_string(jobs)});
  return a;
}

bool is_face_set(const std::string& dir) { return fs::is_regular_file(fs::path(dir) / "faces.json"); }

FaceSet read_face_set(const std::string& dir) {
  const std::string path = (fs::path(dir) / "faces.json").string();
  DDIM_CHECK(fs::is_directory(dir), "faces:{}: no such directory", dir);
  DDIM_CHECK(fs::is_regular_file(path),
             "faces:{}: not a rendered faces set (no faces.json); render one with `ddim data render-faces "
             "--out {}`",
             dir, dir);
  const auto bytes = read_file(path);
  FaceSet set;
  set.dir = dir;
  try {
    set.manifest = nlohmann::json::parse(bytes.begin(), bytes.end());
    const auto& m = set.manifest;
    // Integers only: nlohmann converts a float such as 1e99 with an undefined cast.
    auto integer = [&](const char* key) {
      const auto& v = m.at(key);
      DDIM_CHECK(v.is_number_integer(), "{}: {} must be an integer, got {}", path, key, printable(v.dump()));
      return v;
    };
    DDIM_CHECK(integer("format") == 1, "{}: unknown format {}", path, printable(m.at("format").dump()));
    set.options.size = integer("size").get<int64_t>();
    set.options.count = integer("count").get<int64_t>();
    set.options.seed = integer("seed").get<uint64_t>();
    for (const auto& [name, prob] : m.at("p").items()) set.options.p[name] = prob.get<double>();
    set.options.uniform = m.at("uniform").get<std::vector<std::string>>();
    for (const auto& a : m.at("attributes")) {
      Attribute attribute;
      attribute.name = a.at("name").get<std::string>();
      attribute.values = a.at("values").get<std::vector<std::string>>();
      DDIM_CHECK(!attribute.name.empty() && !attribute.values.empty(),
                 "{}: an attribute without a name or values", path);
      set.attributes.push_back(std::move(attribute));
    }
  } catch (const nlohmann::json::exception& e) {
    DDIM_FAIL("{}: not a faces manifest: {}", path, printable(e.what(), 160));
  }
  try {
    set.options.validate();
  } catch (const InvalidArgument& e) {
    DDIM_FAIL("{}: {}", path, e.what());
  }
  DDIM_CHECK(!set.attributes.empty(), "{}: lists no attributes", path);
  return set;
}

std::string default_faces_dir() {
  std::string root = env("DDIM_CACHE_DIR");
  if (root.empty() && !env("XDG_CACHE_HOME").empty()) root = env("XDG_CACHE_HOME") + "/ddim";
  if (root.empty() && !env("HOME").empty()) root = env("HOME") + "/.cache/ddim";
  if (root.empty()) root = (fs::temp_directory_path() / "ddim-cache").string();
  return root + "/faces-64";
}

namespace {

// The renderer's folder when it holds render.mjs and its npm packages.
bool renderer_complete(const std::string& dir) {
  std::error_code ec;
  return fs::is_regular_file(dir + "/render.mjs", ec) &&
         fs::is_regular_file(dir + "/node_modules/facesjs/package.json", ec) &&
         fs::is_directory(dir + "/node_modules/@resvg/resvg-js", ec);
}

// Where the renderer may be, in order: PREFIX/share/ddim/faces beside the running PREFIX/bin
// program (an installed ddim, relocated or not, never depends on a source tree), the source
// tree's tools/faces (a ddim run from its build folder), the prefix it was configured for.
std::vector<std::string> renderer_dirs() {
  std::vector<std::string> dirs;
  std::error_code ec;
  const auto exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) dirs.push_back((exe.parent_path().parent_path() / "share" / "ddim" / "faces").string());
  dirs.push_back(DDIM_FACES_SOURCE_DIR);
  dirs.push_back(DDIM_FACES_INSTALL_DIR);
  return dirs;
}

}  // namespace

std::string faces_generator_dir() {
  const auto dir = env("DDIM_FACES_GENERATOR");
  if (!dir.empty()) return dir;
  const auto candidates = renderer_dirs();
  for (const auto& c : candidates)
    if (renderer_complete(c)) return c;
  std::error_code ec;
  for (const auto& c : candidates)
    if (fs::is_regular_file(c + "/render.mjs", ec))
      return c;  // packages missing: check_faces_generator says so
  return DDIM_FACES_SOURCE_DIR;
}

void check_faces_generator() {
  const auto dir = faces_generator_dir();
  DDIM_CHECK(program_exists("node"),
             "faces: node is not installed; run {} (it installs Node.js and the renderer)", kInstall);
  DDIM_CHECK(fs::is_regular_file(dir + "/render.mjs"), "faces: the renderer {}/render.mjs is missing", dir);
  DDIM_CHECK(renderer_complete(dir),
             "faces: the renderer's npm packages are not installed in {}/node_modules; run {} (an installed "
             "ddim: `npm ci --omit=dev` in that folder)",
             dir, kInstall);
}

Split face_split(int64_t index) { return index % 10 == 9 ? Split::Test : Split::Train; }

int64_t faces_in_split(int64_t count, Split split) {
  const int64_t test = count / 10;  // the indices 9, 19, ... below count
  if (split == Split::Test) return test;
  return split == Split::Train ? count - test : count;
}

FaceSet render_face_set(const std::string& dir, const FaceOptions& options,
                        const std::function<void(int64_t, int64_t)>& progress) {
  options.validate();
  auto args = options.arguments();
  args.insert(args.begin(), {"set", "--out", dir, "--count", std::to_string(options.count)});
  run_renderer(args, [&](const std::string& line) {
    long long done = 0, total = 0;
    if (progress && std::sscanf(line.c_str(), "progress %lld %lld", &done, &total) == 2)
      progress(done, total);
  });
  return read_face_set(dir);
}

FaceRenders render_faces(const std::vector<FaceRequest>& requests, const FaceOptions& options) {
  options.validate();
  DDIM_CHECK_ARG(!requests.empty(), "faces: no faces requested");
  nlohmann::json list = nlohmann::json::array();
  for (const auto& r : requests) {
    DDIM_CHECK_ARG(r.index >= 0, "faces: a face index must not be negative, got {}", r.index);
    list.push_back({{"index", r.index}, {"set", r.set}});
  }
  ScratchDir scratch;
  const auto req = scratch.path + "/requests.json", out = scratch.path + "/faces.bin";
  write_file_atomic(req, list.dump());
  auto args = options.arguments();
  args.insert(args.begin(), {"oracle", "--requests", req, "--out", out});
  run_renderer(args, {});

  std::error_code ec;
  DDIM_CHECK(fs::is_regular_file(out, ec) && fs::is_regular_file(out + ".json", ec),
             "the faces renderer wrote no {}", fs::is_regular_file(out, ec) ? "labels" : "images");
  return parse_face_renders(read_file(out), read_file(out + ".json"), static_cast<int64_t>(requests.size()),
                            options.size);
}

FaceRenders parse_face_renders(const std::vector<char>& pixels, const std::vector<char>& labels, int64_t n,
                               int64_t s) {
  DDIM_CHECK_ARG(n >= 1 && s >= 1 && s <= 512, "faces: {} faces of {}x{} pixels cannot be read back", n, s,
                 s);
  const auto face = static_cast<size_t>(3 * s * s);  // divided, not multiplied: n is any number
  DDIM_CHECK(pixels.size() % face == 0 && pixels.size() / face == static_cast<size_t>(n),
             "the faces renderer wrote {} bytes for {} faces of {}x{} ({} bytes each)", pixels.size(), n, s,
             s, face);
  FaceRenders result;
  result.images = torch::from_blob(const_cast<char*>(pixels.data()), {n, s, s, 3}, torch::kUInt8)
                      .permute({0, 3, 1, 2})
                      .contiguous();
  try {
    const auto j = nlohmann::json::parse(labels.begin(), labels.end());
    DDIM_CHECK(j.is_array() && static_cast<int64_t>(j.size()) == n,
               "the faces renderer labelled {} of {} faces", j.is_array() ? j.size() : 0, n);
    for (const auto& face : j) result.attributes.push_back(face.get<std::map<std::string, std::string>>());
  } catch (const nlohmann::json::exception& e) {
    DDIM_FAIL("the faces renderer's labels are not what it should write: {}", printable(e.what(), 160));
  }
  return result;
}

int64_t face_file_index(const std::string& path) {
  const auto stem = fs::path(path).stem().string();
  DDIM_CHECK(!stem.empty() && stem.size() <= 12 && stem.find_first_not_of("0123456789") == std::string::npos,
             "{}: a faces image is named by its index (e.g. 000123.png)", path);
  return std::stoll(stem);
}

// A rendered faces set (faces.h), checked against its manifest before any image is decoded:
// each split folder holds exactly the faces the manifest's count puts there, named by index,
// and attributes.csv has the manifest's attributes, one row per image. Values are numbered in
// the manifest's order (all values, drawn or not), so a label means the same value in every
// rendering and every subset.
Part load_faces_part(const std::string& dir, Split split, const DataOptions& o) {
  DDIM_CHECK_ARG(o.crop == 0, "a crop size applies to folder data, not faces (faces are framed already)");
  const auto set = read_face_set(dir);
  const std::string again = fmt::format("render it again with `ddim data render-faces --out {}`", dir);
  std::vector<std::string> all, files;
  std::vector<int64_t> ids;  // the face index of each of `files`
  for (const Split part : {Split::Train, Split::Test}) {
    const std::string sub = (fs::path(dir) / to_string(part)).string();
    DDIM_CHECK(is_dir(sub), "faces:{}: {}/ is missing; {}", dir, to_string(part), again);
    const auto listed = list_images(sub);
    const int64_t expected = faces_in_split(set.options.count, part);
    DDIM_CHECK(static_cast<int64_t>(listed.size()) == expected,
               "faces:{}: {}/ holds {} images but faces.json counts {} there; {}", dir, to_string(part),
               listed.size(), expected, again);
    const bool wanted = split == part || split == Split::All;
    for (const auto& f : listed) {
      const int64_t index = face_file_index(f);
      DDIM_CHECK(index < set.options.count && face_split(index) == part,
                 "{}: face {} does not belong in {}/ of a set of {} faces", f, index, to_string(part),
                 set.options.count);
      if (wanted) ids.push_back(index);
    }
    all.insert(all.end(), listed.begin(), listed.end());
    if (wanted) files.insert(files.end(), listed.begin(), listed.end());
  }
  // Without conditions the limit applies before the attributes are matched (cheaper); with
  // them, after the selection.
  if (o.where.empty() && o.limit > 0 && static_cast<int64_t>(files.size()) > o.limit) {
    files.resize(o.limit);
    ids.resize(o.limit);
  }

  Part part;
  const auto table =
      read_attribute_table((fs::path(dir) / "attributes.csv").string(), static_cast<int64_t>(all.size()));
  auto found = attributes_for_files(table, dir, all, files);
  DDIM_CHECK(found.size() == set.attributes.size(), "{}/attributes.csv has {} attributes, faces.json {}; {}",
             dir, found.size(), set.attributes.size(), again);
  for (size_t k = 0; k < found.size(); ++k) {
    const auto& want = set.attributes[k];
    auto& a = found[k];
    DDIM_CHECK(a.name == want.name, "{}/attributes.csv: attribute {} is '{}' where faces.json has '{}'; {}",
               dir, k + 1, printable(a.name), printable(want.name), again);
    std::vector<int64_t> remap;
    for (const auto& v : a.values) {
      const auto it = std::find(want.values.begin(), want.values.end(), v);
      DDIM_CHECK(it != want.values.end(), "{}/attributes.csv: '{}' is not a value of {} (faces.json: {})",
                 dir, printable(v), printable(a.name),
                 printable(fmt::format("{}", fmt::join(want.values, ", ")), 300));
      remap.push_back(it - want.values.begin());
    }
    a.labels = torch::tensor(remap, torch::kInt64).index_select(0, a.labels);
    a.values = want.values;
  }
  part.attributes = std::move(found);
  if (!o.where.empty()) {
    const auto kept = select_where(o, part.attributes, "faces:" + dir);
    part.attributes = select_attributes(part.attributes, kept);
    files = pick_items(files, kept);
    ids = pick_items(ids, kept);
  }
  part.default_attribute = "male";
  if (std::none_of(part.attributes.begin(), part.attributes.end(),
                   [](const Attribute& a) { return a.name == "male"; }))
    part.default_attribute = part.attributes.front().name;
  part.ids = torch::tensor(ids, torch::kInt64);
  part.images = load_images(files, FolderOptions{0, o.resize, o.channels});
  if (o.resize == 0)
    DDIM_CHECK(part.images.size(2) == set.options.size && part.images.size(3) == set.options.size,
               "faces:{}: the images are {}x{} but faces.json says {}x{}; {}", dir, part.images.size(3),
               part.images.size(2), set.options.size, set.options.size, again);
  return part;
}

}  // namespace ddim
