// Writes the seed corpora of the fuzz targets: `make_corpus DIR` fills DIR/<target>/ with small
// valid inputs (a few hundred bytes to a few KB each) that the fuzzer mutates. The corpora in
// tests/fuzz/corpus/ were made by it (scripts/fuzz.sh --corpus regenerates them).
#include <stb/stb_image_write.h>  // declarations; the implementation is in libddim

#include <unistd.h>
#include <zlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string_view>

#include "ddim/core/file.h"
#include "ddim/io/checkpoint.h"
#include "ddim/io/image.h"
#include "ddim/io/tensor_io.h"
#include "io/pt_reader.h"
#include "tiny_models.h"

namespace fs = std::filesystem;
using namespace ddim;

namespace {

std::string g_dir;

void put(const std::string& target, const std::string& name, const std::vector<char>& bytes) {
  fs::create_directories(g_dir + "/" + target);
  std::ofstream(g_dir + "/" + target + "/" + name, std::ios::binary).write(bytes.data(), bytes.size());
}
void put(const std::string& target, const std::string& name, const std::string& text) {
  put(target, name, std::vector<char>(text.begin(), text.end()));
}

std::vector<char> idx(const torch::Tensor& t) {
  std::vector<char> b = {0, 0, 8, static_cast<char>(t.dim())};
  for (auto s : t.sizes())
    for (int k = 3; k >= 0; --k) b.push_back(static_cast<char>((s >> (8 * k)) & 0xFF));
  auto c = t.contiguous();
  b.insert(b.end(), reinterpret_cast<char*>(c.data_ptr<uint8_t>()),
           reinterpret_cast<char*>(c.data_ptr<uint8_t>()) + c.numel());
  return b;
}

void append(void* ctx, void* data, int size) {
  auto* v = static_cast<std::vector<char>*>(ctx);
  v->insert(v->end(), static_cast<char*>(data), static_cast<char*>(data) + size);
}

std::vector<char> gzip(const std::vector<char>& raw) {
  z_stream zs{};
  deflateInit2(&zs, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  std::vector<char> out(deflateBound(&zs, raw.size()) + 32);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(raw.data()));
  zs.avail_in = static_cast<uInt>(raw.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

torch::Tensor hwc(const torch::Tensor& chw) {
  return chw.mul(255).round().to(torch::kUInt8).permute({1, 2, 0}).contiguous();
}

// The data.pkl inside the `.pt` bytes of a value.
std::vector<char> pickle_of(const c10::IValue& value) {
  const auto bytes = pickle_bytes(value);
  const ddim::detail::ZipView zip(std::string_view(bytes.data(), bytes.size()), "corpus");
  for (const auto& e : zip.entries())
    if (e.name.size() >= 8 && e.name.compare(e.name.size() - 8, 8, "data.pkl") == 0)
      return zip.read(e, 1 << 20);
  std::abort();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_corpus DIR\n");
    return 2;
  }
  g_dir = argv[1];
  torch::manual_seed(0);

  // IDX
  const auto images = torch::randint(0, 256, {2, 4, 4}, torch::kInt64).to(torch::kUInt8);
  put("idx", "images-2x4x4.idx", idx(images));
  put("idx", "labels-3.idx", idx(torch::tensor({1, 7, 9}, torch::kUInt8)));
  put("idx", "empty-0x28x28.idx", idx(torch::empty({0, 28, 28}, torch::kUInt8)));
  put("idx", "images-2x4x4.idx.gz", gzip(idx(images)));

  // Images
  const auto gray = torch::rand({1, 4, 4}), rgb = torch::rand({3, 5, 3});
  const auto png_gray = encode_png(gray), png_rgb = encode_png(rgb);
  put("image", "gray-4x4.png", std::vector<char>(png_gray.begin(), png_gray.end()));
  put("image", "rgb-3x5.png", std::vector<char>(png_rgb.begin(), png_rgb.end()));
  std::vector<char> bmp, jpg, jpg_gray;
  auto px = hwc(torch::rand({3, 4, 4}));
  stbi_write_bmp_to_func(append, &bmp, 4, 4, 3, px.data_ptr<uint8_t>());
  put("image", "rgb-4x4.bmp", bmp);
  auto smooth = hwc(torch::linspace(0, 1, 64).view({1, 8, 8}).repeat({3, 1, 1}));
  stbi_write_jpg_to_func(append, &jpg, 8, 8, 3, smooth.data_ptr<uint8_t>(), 90);
  put("image", "rgb-8x8.jpg", jpg);
  auto smooth_gray = hwc(torch::linspace(0, 1, 64).view({1, 8, 8}));
  stbi_write_jpg_to_func(append, &jpg_gray, 8, 8, 1, smooth_gray.data_ptr<uint8_t>(), 90);
  put("image", "gray-8x8.jpg", jpg_gray);

  // CIFAR-10: two records
  std::vector<char> cifar;
  for (int r = 0; r < 2; ++r) {
    cifar.push_back(static_cast<char>(r * 7));
    for (int i = 0; i < 3072; ++i) cifar.push_back(static_cast<char>((i * (r + 3)) & 0xFF));
  }
  put("cifar", "two-records.bin", cifar);

  // Configuration files
  put("config", "quick.toml",
      "# a preset\n[train]\ndata = \"fashion-mnist\"\nwidths = \"16,32,64,128\"\nblock-depth = 2\nbatch = "
      "64\n"
      "steps = 2_000\nlr = 0.001\ncheckpoint-every = 500\n");
  put("config", "effective.toml",
      "# The effective options of this run\ndevice = \"cpu\"\nthreads = 0\nseed = 0\nlog-level = \"info\"\n\n"
      "[analyze]\n\n[analyze.inversion]\nmodel = \"runs/q/model.pt\"\nn = 200\nbf16 = false\n"
      "images = [\"a \\\"quoted\\\" name.png\", 'C:\\raw\\b.png']\n");
  put("config", "arrays.toml",
      "[sample]\nsteps = [\n  10,  # ten\n  20,\n]\neta = -1.5e-3\nend = inf\nname = \"\\u00e9t\\u00e9\"\n");

  // Tensor files: raw pickles (served with the targets' fixed records) and whole files
  put("tensor", "seeds-float-2x1x8x8.pkl", pickle_of(torch::randn({2, 1, 8, 8})));
  put("tensor", "seed-double-1x8x8.pkl", pickle_of(torch::randn({1, 8, 8}, torch::kFloat64)));
  put("tensor", "seeds-half-strided.pkl", pickle_of(torch::randn({4, 1, 8, 8}).to(torch::kHalf)));
  put("tensor", "bytes.pkl", pickle_of(torch::arange(16, torch::kUInt8)));
  put("tensor", "bools.pkl", pickle_of(torch::zeros({8}, torch::kBool)));
  put("tensor", "long.pkl", pickle_of(torch::arange(6, torch::kInt64).view({2, 3})));
  {
    c10::Dict<std::string, torch::Tensor> d;
    d.insert("a", torch::randn({2, 3}));
    d.insert("b", torch::arange(4, torch::kInt32));
    put("tensor", "dict.pkl", pickle_of(d));
  }
  put("tensor", "seeds-1x8x8.pt", pickle_bytes(torch::randn({1, 1, 8, 8})));

  // Checkpoints: the pickle of the tiny denoiser (served with its own records) and the whole file
  const auto ck = fuzz::tiny_denoiser_checkpoint();
  char name[] = "/tmp/ddim-corpus-ck-XXXXXX";
  const int fd = mkstemp(name);
  if (fd >= 0) close(fd);
  save_checkpoint(name, ck);
  const auto file = read_file(name);
  std::remove(name);
  const ddim::detail::ZipView zip(std::string_view(file.data(), file.size()), "corpus");
  for (const auto& e : zip.entries())
    if (e.name.size() >= 8 && e.name.compare(e.name.size() - 8, 8, "data.pkl") == 0)
      put("checkpoint", "denoiser-unet-1x8x8.pkl", zip.read(e, 1 << 20));
  put("checkpoint", "denoiser-unet-1x8x8.pt", file);
  // Release checkpoints with fp16 and bf16 weights (release_checkpoint).
  for (const auto& [dtype, tag] : {std::pair{torch::kHalf, "fp16"}, std::pair{torch::kBFloat16, "bf16"}}) {
    save_checkpoint(name, release_checkpoint(ck, dtype));
    put("checkpoint", std::string("denoiser-unet-1x8x8-release-") + tag + ".pt", read_file(name));
    std::remove(name);
  }

  // A Diff-AE and a DiffuseGAE: whole files, and their pickles after the selector byte that
  // serves their own records.
  for (const auto& [kind, tag] : {std::pair{'A', "diffae"}, std::pair{'G', "gae"}}) {
    save_checkpoint(name, kind == 'A' ? fuzz::tiny_diffae_checkpoint() : fuzz::tiny_gae_checkpoint());
    const auto bytes = read_file(name);
    std::remove(name);
    put("checkpoint", std::string(tag) + "-1x8x8.pt", bytes);
    const ddim::detail::ZipView archive(std::string_view(bytes.data(), bytes.size()), "corpus");
    for (const auto& e : archive.entries())
      if (e.name.size() >= 8 && e.name.compare(e.name.size() - 8, 8, "data.pkl") == 0) {
        auto pickle = archive.read(e, 1 << 20);
        pickle.insert(pickle.begin(), kind);
        put("checkpoint", std::string(tag) + "-1x8x8.pkl", pickle);
      }
  }

  // The faces renderer's output (fuzz_renders.cpp): faces - 1, side - 1, labels, NUL, pixels.
  auto renders = [](int n, int side, const std::string& labels, size_t pixels) {
    std::string s = {static_cast<char>(n - 1), static_cast<char>(side - 1)};
    s += labels + std::string(1, '\0');
    for (size_t i = 0; i < pixels; ++i) s += static_cast<char>(i * 7);
    return s;
  };
  const std::string two =
      "[{\"male\": \"yes\", \"glasses\": \"no\"}, {\"male\": \"no\", \"glasses\": \"yes\"}]";
  put("renders", "two-4x4.bin", renders(2, 4, two, 2 * 4 * 4 * 3));
  put("renders", "too-few-bytes.bin", renders(2, 4, two, 2 * 4 * 4 * 3 - 5));
  put("renders", "one-label-of-two.bin", renders(2, 4, "[{\"male\": \"yes\"}]", 2 * 4 * 4 * 3));
  put("renders", "labels-not-strings.bin", renders(1, 2, "[{\"male\": 1}]", 2 * 2 * 3));
  put("renders", "nothing.bin", renders(3, 8, "", 0));

  // Faces sets (fuzz_faces.cpp): image counts, flags, faces.json, NUL, attributes.csv.
  auto faces = [](int train, int test, int flags, const std::string& manifest, const std::string& csv) {
    std::string s = {static_cast<char>(train), static_cast<char>(test), static_cast<char>(flags)};
    return s + manifest + std::string(1, '\0') + csv;
  };
  auto manifest = [](int count) {
    return "{\"format\": 1, \"size\": 16, \"count\": " + std::to_string(count) +
           ", \"seed\": 0, \"p\": {\"male\": 0.5}, \"uniform\": [], \"attributes\": [{\"name\": \"male\", "
           "\"values\": [\"no\", \"yes\"]}, {\"name\": \"hair_colour\", \"values\": [\"black\", \"blond\", "
           "\"red\"]}]}";
  };
  std::string rows = "file,male,hair_colour\n";
  for (int i = 0; i < 10; ++i) {
    char row[64];
    std::snprintf(row, sizeof row, "%s/%06d.png,%s,%s\n", i == 9 ? "test" : "train", i, i % 2 ? "yes" : "no",
                  i % 3 ? "black" : "red");
    rows += row;
  }
  put("faces", "ten.bin", faces(9, 1, 0, manifest(10), rows));
  put("faces", "ten-test-limit-where.bin", faces(9, 1, 4 | 8 | 16, manifest(10), rows));
  put("faces", "count-too-large.bin", faces(9, 1, 0, manifest(1000000000), rows));
  put("faces", "misnamed.bin", faces(9, 1, 1, manifest(10), rows));
  put("faces", "no-attributes-file.bin", std::string({9, 1, 0}) + manifest(10));
  std::string wrong = rows;
  wrong.replace(wrong.find(",no,"), 4, ",maybe,");
  put("faces", "wrong-value.bin", faces(9, 1, 0, manifest(10), wrong));

  // Attributes files (fuzz_attributes.cpp) beside a.png, b.png, sub/a.png and sub/c.png.
  put("attributes", "csv.csv",
      "file,letter,size\na.png,A,small\nb.png,B,large\nsub/a.png,A,large\nc.png,C,small\n");
  put("attributes", "quoted.csv",
      "\xEF\xBB\xBF\"file\",\"a,b\",n\r\na.png,\"x\"\"y\",1\r\n\nb.png,z,2.5\nsub/a.png,z,10\nsub/"
      "c.png,x,-1\n");
  put("attributes", "celeba.txt", "4\nMale Smiling\na.png -1 1\nb.png 1 1\nsub/a.png 0 -1\nc.png 1 -1\n");
  put("attributes", "celeba-count-differs.txt", "99999999\nMale\na.png 1\n");
  put("attributes", "missing-row.csv", "file,letter\na.png,A\nsub/c.png,C\n");
  put("attributes", "repeated-row.csv", "file,letter\na.png,A\n./a.png,B\nb.png,B\nsub/a.png,A\nc.png,C\n");

  // --where conditions (fuzz_where.cpp): the condition, NUL, the attributes.
  put("where", "range.txt", "letter=A..C");
  put("where", "list.txt", "size = small , large");
  put("where", "numbers.txt", std::string("font=0..10") + '\0' + "font=0,1,2,10,11;size=s");
  put("where", "dots-in-a-value.txt", std::string("letter=a..z,b..c") + '\0' + "letter=a..z,b,c");
  put("where", "unknown.txt", "nope=1");
  put("where", "empty-value.txt", "letter=A,,B");
  put("where", "backwards.txt", "letter=C..A");
  std::printf(
      "make_corpus: wrote %s/{idx,image,cifar,config,tensor,checkpoint,renders,faces,attributes,where}\n",
      g_dir.c_str());
  return 0;
}
