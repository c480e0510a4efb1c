// Hostile files: the readers of `.pt` files, checkpoints, images, IDX, CIFAR-10 and
// configuration files refuse damaged or malicious input with one line naming the file (and the
// tensor or key), without crashing, reading past a buffer or allocating what the file claims.
// Every case here was found by hand or by the fuzz targets of tests/fuzz.
#include <chrono>
#include <cmath>
#include <filesystem>

#include "crafted.h"
#include "ddim/core/error.h"
#include "ddim/core/interrupt.h"
#include "ddim/core/limits.h"
#include "ddim/data/dataset.h"
#include "ddim/diffusion/denoiser.h"
#include "ddim/diffusion/pipeline.h"
#include "ddim/io/cifar10.h"
#include "ddim/io/config_file.h"
#include "ddim/io/idx.h"
#include "ddim/io/image.h"
#include "ddim/io/tensor_io.h"
#include "ddim/training/training.h"
#include "support.h"

using namespace ddim;
using namespace ddim::test;

namespace {

// The message of the ddim::Error that `f` throws (failing the test when it throws none, or
// another kind), checked to be one line.
template <class E = Error, class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const E& e) {
    const std::string m = e.what();
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
    return m;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "threw another exception: " << e.what();
    return e.what();
  }
  ADD_FAILURE() << "threw nothing";
  return "";
}

std::vector<char> bytes_of(const std::string& s) { return std::vector<char>(s.begin(), s.end()); }

// Restores the process-wide limits at the end of a test that lowers them.
struct LimitsGuard {
  InputLimits saved = input_limits();
  ~LimitsGuard() { set_input_limits(saved); }
};

struct InterruptGuard {
  ~InterruptGuard() { clear_interrupt(); }
};

#define EXPECT_CONTAINS(text, part) EXPECT_NE(std::string(text).find(part), std::string::npos) << (text)

}  // namespace

// ------------------------------------------------------------------------------ tensor files

TEST(HostileTensors, CraftedFilesLoadLikeSavedOnes) {
  const auto dir = scratch_dir();
  // The hand-made writer is right: a tensor written by it loads as the one LibTorch saves.
  for (const auto& t : {torch::randn({2, 3, 4}), torch::arange(6, torch::kInt64).view({2, 3}),
                        torch::rand({5}).to(torch::kDouble), torch::ones({3}, torch::kBool)}) {
    write_bytes(dir + "/t.pt", tensor_file(raw_of(t, "0"), record_of(t)));
    EXPECT_TRUE(torch::equal(load_tensor(dir + "/t.pt"), t));
  }
  // A view: offset and strides inside the storage (stride 0 repeats a row).
  const auto base = torch::arange(12, torch::kFloat32);
  RawTensor raw = raw_of(base, "0");
  raw.offset = 2;
  raw.sizes = {3, 4};
  raw.strides = {0, 2};
  write_bytes(dir + "/v.pt", tensor_file(raw, record_of(base)));
  EXPECT_TRUE(torch::equal(load_tensor(dir + "/v.pt"), base.slice(0, 2, 10, 2).expand({3, 4})));
  // What LibTorch writes round-trips, dictionaries too.
  save_tensor_dict(dir + "/d.pt", {{"a", torch::randn({2})}, {"b", torch::zeros({1}, torch::kInt32)}});
  EXPECT_EQ(load_tensor_dict(dir + "/d.pt").size(), 2u);
}

TEST(HostileTensors, StridesAndOffsetsOutsideTheStorageAreRefused) {
  const auto dir = scratch_dir();
  const auto t = torch::randn({2, 36});  // 72 elements
  struct Case {
    std::vector<int64_t> sizes, strides;
    int64_t offset;
    const char* message;
  };
  const std::vector<Case> cases = {
      {{2, 36}, {65535, 1}, 0, "reaches element 65570 outside its storage"},
      {{2, 36}, {36, 1}, -2147483648LL, "negative storage offset"},
      {{2, 36}, {36, 1}, 1, "reaches element 72 outside its storage"},
      {{2, 36}, {-36, 1}, 0, "negative stride in dimension 0"},
      {{-2, 36}, {36, 1}, 0, "negative size in dimension 0"},
      {{2, 36}, {36}, 0, "has 2 sizes but 1 strides"},
      {{int64_t{1} << 62, 4}, {1, 1}, 0, "its element count overflows"},
      {{int64_t{1} << 61, 1}, {int64_t{1} << 61, 1}, 0, "its extent overflows"},
      {{0, 4}, {4, 1}, 73, "storage offset lies outside its storage"},
  };
  for (const auto& c : cases) {
    auto raw = raw_of(t, "0");
    raw.sizes = c.sizes;
    raw.strides = c.strides;
    raw.offset = c.offset;
    write_bytes(dir + "/bad.pt", tensor_file(raw, record_of(t)));
    const auto m = error_of<InvalidArgument>([&] { load_tensor(dir + "/bad.pt"); });
    EXPECT_CONTAINS(m, dir + "/bad.pt: tensor #0: ");
    EXPECT_CONTAINS(m, c.message);
  }
}

TEST(HostileTensors, AStorageLargerThanItsRecordIsRefused) {
  const auto dir = scratch_dir();
  // 2^31 - 1 values declared, 8 KB on disk: the seed file that crashed `ddim sample`.
  const auto t = torch::randn({2048});
  auto raw = raw_of(t, "0");
  raw.numel = 2147483647;
  write_bytes(dir + "/seeds.pt", tensor_file(raw, record_of(t)));
  const auto m = error_of<InvalidArgument>([&] { load_tensor(dir + "/seeds.pt"); });
  EXPECT_CONTAINS(m, "declares 2147483647 Float values (8589934588 bytes) but the file holds 8192 bytes");
  // A record cut short under a correct declaration (the checkpoint read past its heap block).
  auto record = record_of(t);
  record.resize(100);
  write_bytes(dir + "/short.pt", tensor_file(raw_of(t, "0"), record));
  EXPECT_CONTAINS(error_of<InvalidArgument>([&] { load_tensor(dir + "/short.pt"); }),
                  "the file holds 100 bytes");
  // A missing record.
  write_bytes(dir + "/none.pt", pt_file(PickleWriter().tensor(raw_of(t, "7")).finish(), {}));
  EXPECT_CONTAINS(error_of([&] { load_tensor(dir + "/none.pt"); }),
                  "the record 'data/7' of a storage is missing");
}

TEST(HostileTensors, UnsupportedTypesAndBadBoolsAreRefused) {
  const auto dir = scratch_dir();
  const auto t = torch::zeros({8}, torch::kUInt8);
  auto raw = raw_of(t, "0");
  raw.storage = "QInt8Storage";  // a quantized tensor: LibTorch's reader failed an internal assert
  write_bytes(dir + "/q.pt", tensor_file(raw, record_of(t)));
  EXPECT_CONTAINS(error_of<InvalidArgument>([&] { load_tensor(dir + "/q.pt"); }),
                  "q.pt: holds tensors of type torch.QInt8Storage");
  raw.storage = "BoolStorage";
  write_bytes(dir + "/b.pt", tensor_file(raw, bytes_of(std::string("\x00\x01\x02\x00\x00\x00\x00\x00", 8))));
  EXPECT_CONTAINS(error_of<InvalidArgument>([&] { load_tensor(dir + "/b.pt"); }),
                  "bool value 2 at element 2");
  write_bytes(dir + "/os.pt", pt_file(PickleWriter().global("os", "system").raw(")R").finish(), {}));
  EXPECT_CONTAINS(error_of<InvalidArgument>([&] { load_tensor(dir + "/os.pt"); }),
                  "holds a Python object of type 'os.system'");
}

TEST(HostileTensors, MalformedPicklesFailWithoutCrashing) {
  const auto dir = scratch_dir();
  // Each of these crashed LibTorch 1.13's unpickler (an empty stack popped) or read past its stack.
  const std::vector<std::string> programs = {
      std::string("\x80\x02\x85.", 4),      // TUPLE1 on an empty stack
      std::string("\x80\x02R.", 4),         // REDUCE on an empty stack
      std::string("\x80\x02Q.", 4),         // BINPERSID on an empty stack
      std::string("\x80\x02}(K\x01u.", 8),  // SETITEMS with a key and no value
      std::string("\x80\x02(K\x01"
                  "d.",
                  7),                         // DICT with a key and no value
      std::string("\x80\x02h\x05.", 5),       // a memo entry never stored
      std::string("\x80\x02(u.", 5),          // SETITEMS without a dictionary
      std::string("\x80\x02K\x01K\x02.", 7),  // two values left
      std::string("\x80\x02K\x01\x94h\x00"
                  "a.",
                  9),  // APPEND to an integer
      std::string("\x80\x02]\x94h\x00"
                  "a.",
                  7),  // a list inside itself
      std::string("\x80\x02X\xff\xff\xff\x7f"
                  "ab.",
                  10),                   // a string longer than the file
      std::string("\x80\x05K\x01.", 5),  // protocol 5
  };
  for (const auto& p : programs) {
    write_bytes(dir + "/p.pt", pt_file(bytes_of(p), {}));
    const auto m = error_of([&] { load_tensor(dir + "/p.pt"); });
    EXPECT_CONTAINS(m, dir + "/p.pt: ");
  }
  // Nesting is bounded: 100 lists in lists.
  std::string deep = "\x80\x02";
  for (int i = 0; i < 100; ++i) deep += "]";
  for (int i = 0; i < 99; ++i) deep += "a";
  deep += ".";
  write_bytes(dir + "/deep.pt", pt_file(bytes_of(deep), {}));
  EXPECT_CONTAINS(error_of<InvalidArgument>([&] { load_tensor(dir + "/deep.pt"); }), "nested deeper than 64");
}

TEST(HostileTensors, ZipDamageAndDecompressionBombsAreRefused) {
  const auto dir = scratch_dir();
  const auto t = torch::randn({16});
  auto file = tensor_file(raw_of(t, "0"), record_of(t));
  // A flipped byte in a record fails its CRC.
  auto flipped = file;
  flipped[200] ^= 0x55;
  write_bytes(dir + "/crc.pt", flipped);
  EXPECT_CONTAINS(error_of([&] { load_tensor(dir + "/crc.pt"); }), "not a readable .pt file");
  // Deflated records (zip files that other tools wrote) load; one that inflates to more or less
  // than its declared size does not.
  const auto pickle = PickleWriter().tensor(raw_of(t, "0")).finish();
  write_bytes(dir + "/deflated.pt", pt_file(pickle, {{"0", record_of(t)}}, true));
  EXPECT_TRUE(torch::equal(load_tensor(dir + "/deflated.pt"), t));
  for (const int64_t declared : {32, 100}) {
    write_bytes(dir + "/sizes.pt", pt_file(pickle, {{"0", record_of(t)}}, true, declared));
    EXPECT_CONTAINS(error_of([&] { load_tensor(dir + "/sizes.pt"); }), "does not inflate to its");
  }
  // A record larger than the limit is refused before it is read.
  LimitsGuard guard;
  set_input_limits({0, 1000});
  const auto big = torch::zeros({1000});
  write_bytes(dir + "/big.pt", tensor_file(raw_of(big, "0"), record_of(big)));
  EXPECT_CONTAINS(error_of<InvalidArgument>([&] { load_tensor(dir + "/big.pt"); }), "more than the limit");
}

TEST(HostileTensors, SeedsMustBeFiniteFloatsOfTheModelShape) {
  const auto dir = scratch_dir();
  const std::vector<int64_t> shape = {1, 8, 8};
  save_tensor(dir + "/ok.pt", torch::randn({3, 1, 8, 8}, torch::kFloat64));
  EXPECT_EQ(load_seeds(dir + "/ok.pt", shape).scalar_type(), torch::kFloat32);
  save_tensor(dir + "/one.pt", torch::randn({1, 8, 8}));
  EXPECT_EQ(load_seeds(dir + "/one.pt", shape).sizes(), (std::vector<int64_t>{1, 1, 8, 8}));
  save_tensor(dir + "/cloud.pt", torch::randn({2, 3, 1, 8, 8}));
  EXPECT_EQ(load_seeds(dir + "/cloud.pt", shape).sizes(), (std::vector<int64_t>{6, 1, 8, 8}));
  auto nan = torch::randn({2, 1, 8, 8});
  nan[1][0][2][3] = NAN;
  nan[1][0][4][4] = INFINITY;
  save_tensor(dir + "/nan.pt", nan);
  EXPECT_CONTAINS(error_of<InvalidArgument>([&] { load_seeds(dir + "/nan.pt", shape); }),
                  "nan.pt: 2 of 128 values are NaN or infinite (the first at [1, 0, 2, 3])");
  save_tensor(dir + "/huge.pt", torch::full({1, 1, 8, 8}, 1e300, torch::kFloat64));  // inf as float32
  EXPECT_CONTAINS(error_of<InvalidArgument>([&] { load_seeds(dir + "/huge.pt", shape); }), "NaN or infinite");
  save_tensor(dir + "/empty.pt", torch::zeros({0, 1, 8, 8}));
  EXPECT_CONTAINS(error_of<InvalidArgument>([&] { load_seeds(dir + "/empty.pt", shape); }),
                  "empty.pt: is empty (shape [0, 1, 8, 8])");
  save_tensor(dir + "/int.pt", torch::zeros({2, 1, 8, 8}, torch::kInt64));
  EXPECT_CONTAINS(error_of<InvalidArgument>([&] { load_seeds(dir + "/int.pt", shape); }),
                  "int.pt: holds Long values; expected Half or BFloat16 or Float or Double");
  save_tensor(dir + "/shape.pt", torch::zeros({2, 3, 8, 8}));
  EXPECT_CONTAINS(error_of<InvalidArgument>([&] { load_seeds(dir + "/shape.pt", shape); }),
                  "seeds of shape 2x3x8x8 do not fit this model");
  save_tensor_dict(dir + "/dict.pt", {{"a", torch::zeros({1})}});
  EXPECT_CONTAINS(error_of<InvalidArgument>([&] { load_seeds(dir + "/dict.pt", shape); }),
                  "holds a GenericDict, expected a tensor");
}

TEST(HostileTensors, ImageBatchesMustBeImagesInTheUnitRange) {
  const auto dir = scratch_dir();
  save_tensor(dir + "/ok.pt", torch::rand({2, 3, 4, 4}));
  EXPECT_EQ(load_image_batch(dir + "/ok.pt").size(0), 2);
  save_tensor(dir + "/range.pt", torch::rand({2, 1, 4, 4}) * 3);
  EXPECT_CONTAINS(error_of<InvalidArgument>([&] { load_image_batch(dir + "/range.pt"); }),
                  "expected values in [0, 1]");
  save_tensor(dir + "/channels.pt", torch::rand({2, 2, 4, 4}));
  EXPECT_CONTAINS(error_of<InvalidArgument>([&] { load_image_batch(dir + "/channels.pt"); }),
                  "need C = 1 or 3 channels");
}

// -------------------------------------------------------------------------------- checkpoints

TEST(HostileCheckpoints, CraftedCheckpointLoadsAndTamperedOnesAreRefusedByTensorName) {
  const auto dir = scratch_dir();
  const auto ck = tiny_denoiser_checkpoint();
  write_bytes(dir + "/ok.pt", checkpoint_file(ck));
  const auto d = load_denoiser(dir + "/ok.pt");
  EXPECT_EQ(d.data().shape, (std::vector<int64_t>{1, 8, 8}));

  // The first weight of the EMA state with more than one dimension.
  std::string target;
  for (const auto& [name, t] : ck.states.at("ema"))
    if (t.dim() == 4 && target.empty()) target = name;
  ASSERT_FALSE(target.empty());
  auto tampered = [&](const std::string& file, const std::function<void(RawTensor&, std::vector<char>&)>& f) {
    write_bytes(dir + "/" + file, checkpoint_file(ck, [&](const std::string& state, const std::string& name,
                                                          RawTensor& raw, std::vector<char>& record) {
                  if (state == "ema" && name == target) f(raw, record);
                }));
    return error_of<InvalidArgument>([&] { load_denoiser(dir + "/" + file); });
  };
  const std::string named = "states.ema: tensor '" + target + "'";
  auto m = tampered("stride.pt", [](RawTensor& raw, std::vector<char>&) { raw.strides[0] = 65535; });
  EXPECT_CONTAINS(m, dir + "/stride.pt: tensor 'states.ema." + target + "': reaches element");
  m = tampered("offset.pt", [](RawTensor& raw, std::vector<char>&) { raw.offset = -2147483648LL; });
  EXPECT_CONTAINS(m, "negative storage offset");
  m = tampered("short.pt", [](RawTensor&, std::vector<char>& record) { record.resize(record.size() / 2); });
  EXPECT_CONTAINS(m, "but the file holds");
  m = tampered("nan.pt", [](RawTensor&, std::vector<char>& record) {
    const float nan = NAN;
    std::memcpy(record.data() + 4, &nan, 4);
  });
  EXPECT_CONTAINS(m, dir + "/nan.pt: " + named + ": 1 of ");
  EXPECT_CONTAINS(m, "NaN or infinite");
}

TEST(HostileCheckpoints, DamagedMetadataIsRefusedByKey) {
  const auto dir = scratch_dir();
  auto check = [&](const std::function<void(nlohmann::json&)>& edit, const std::string& part) {
    auto ck = tiny_denoiser_checkpoint();
    edit(ck.meta);
    write_bytes(dir + "/m.pt", checkpoint_file(ck));
    const auto start = std::chrono::steady_clock::now();
    const auto m = error_of<InvalidArgument>([&] { load_denoiser(dir + "/m.pt"); });
    EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 10.0) << part;
    EXPECT_CONTAINS(m, dir + "/m.pt: checkpoint metadata: ");
    EXPECT_CONTAINS(m, part);
  };
  check([](nlohmann::json& m) { m["stats"]["mean"] = "zero"; },
        "key 'stats.mean': expected an array of finite numbers, found string");
  check([](nlohmann::json& m) { m.erase("schedule"); }, "key 'schedule' is missing");
  check([](nlohmann::json& m) { m["schedule"]["kind"] = 3; }, "key 'schedule': type must be string");
  check(
      [](nlohmann::json& m) {
        m["data"]["shape"] = {1, 100000, 100000};
      },
      "key 'data': shape [1, 100000, 100000]");
  check(
      [](nlohmann::json& m) {
        m["arch"]["widths"] = {100000, 100000};
      },
      "key 'arch': it describes something larger than");
  check(
      [](nlohmann::json& m) {
        m["schedule"] = {{"kind", "linear"}, {"timesteps", 1000000000}};
      },
      "key 'schedule': discrete schedules need 2 to 1,000,000 timesteps");
  check([](nlohmann::json& m) { m["arch"]["widths"] = {1e300, 8}; }, "key 'arch.widths[0]': the number");
  check([](nlohmann::json& m) { m["stats"]["std"] = {-1.0}; },
        "key 'stats.std': deviations must be positive");
  // Text that is not JSON at all.
  const std::string text = "{\"kind\": \"denoiser\", ";
  write_bytes(dir + "/j.pt", checkpoint_file(tiny_denoiser_checkpoint(), {}, &text));
  EXPECT_CONTAINS(error_of<InvalidArgument>([&] { load_checkpoint(dir + "/j.pt"); }),
                  "checkpoint metadata is not valid JSON");
  // The accessors name the key.
  const nlohmann::json meta = {{"run", {{"steps", "many"}}}};
  EXPECT_CONTAINS(error_of<InvalidArgument>([&] { meta_get<int64_t>(meta, "run.steps", "f.pt"); }),
                  "f.pt: checkpoint metadata: key 'run.steps': expected an integer, found string");
}

// ------------------------------------------------------------------------------------ images

TEST(HostileImages, AHeaderClaimingMillionsOfRowsIsRefusedBeforeDecoding) {
  // An 822-byte BMP of 100 x 16,777,216 pixels (the file's size field left 0).
  std::vector<char> bmp(822, 0);
  auto le = [&](size_t at, uint32_t v) {
    for (int i = 0; i < 4; ++i) bmp[at + i] = static_cast<char>((v >> (8 * i)) & 0xFF);
  };
  bmp[0] = 'B';
  bmp[1] = 'M';
  le(10, 54);
  le(14, 40);
  le(18, 100);
  le(22, 16777216);
  bmp[26] = 1;
  bmp[28] = 24;
  const auto start = std::chrono::steady_clock::now();
  const auto m = error_of<InvalidArgument>([&] { decode_image(bmp, "bomb.bmp"); });
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 1.0);
  EXPECT_CONTAINS(m, "bomb.bmp: an image of 100x16777216 pixels is larger than the limit of 67108864 pixels");
  // The limit is a setting.
  LimitsGuard guard;
  set_input_limits({100, 0});
  const auto png = encode_png(torch::rand({1, 16, 16}));
  EXPECT_CONTAINS(error_of<InvalidArgument>([&] { decode_image(bytes_of(png), "x.png"); }),
                  "x.png: an image of 16x16 pixels is larger than the limit of 100 pixels");
}

TEST(HostileImages, AJpegHuffmanTableOfMoreThan256CodesIsRefused) {
  // stb_image writes every code of a table into room for 256 (found by tests/fuzz/fuzz_image).
  auto jpeg = read_bytes(source_dir() + "/tests/fuzz/corpus/image/rgb-8x8.jpg");
  EXPECT_EQ(decode_image(jpeg, "ok.jpg").size(0), 3);
  size_t dht = 0;
  for (size_t i = 2; i + 1 < jpeg.size() && dht == 0; ++i)
    if (static_cast<unsigned char>(jpeg[i]) == 0xFF && static_cast<unsigned char>(jpeg[i + 1]) == 0xC4)
      dht = i;
  ASSERT_GT(dht, 0u);
  for (int k = 1; k <= 16; ++k) jpeg[dht + 4 + k] = static_cast<char>(0xFF);  // 16 x 255 codes
  EXPECT_CONTAINS(error_of([&] { decode_image(jpeg, "bad.jpg"); }),
                  "bad.jpg: corrupt JPEG (a Huffman table at byte");
  for (const auto& name : {"jpeg-huffman-table-over-256-codes", "png-chunk-name-with-newline"})
    error_of([&] { decode_image(read_bytes(source_dir() + "/tests/fuzz/regressions/image/" + name), name); });
}

TEST(HostileImages, AThinImageIsNotPaddedToAHugeSquare) {
  const auto dir = scratch_dir();
  write_text(dir + "/thin/a.png", encode_png(torch::rand({1, 1, 20000})));
  const auto start = std::chrono::steady_clock::now();
  const auto m = error_of<InvalidArgument>(
      [&] { load_dataset(parse_data_spec("folder:" + dir + "/thin"), DataOptions{}); });
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 5.0);
  EXPECT_CONTAINS(m, dir + "/thin/a.png: 20000x1 images padded to 20000x20000");
  // Without padding it loads.
  DataOptions no_pad;
  no_pad.pad_to = 0;
  EXPECT_EQ(load_dataset(parse_data_spec("folder:" + dir + "/thin"), no_pad).storage.size(3), 20000);
}

// -------------------------------------------------------------------------- IDX and CIFAR-10

TEST(HostileData, GzipBombsAndImplausibleIdxSizesAreRefused) {
  LimitsGuard guard;
  set_input_limits({0, int64_t{1} << 20});
  const std::vector<char> zeros(int64_t{8} << 20, 0);
  const auto bomb = gzip_bytes(zeros);
  EXPECT_CONTAINS(error_of<InvalidArgument>([&] { gunzip(bomb, "bomb.gz"); }),
                  "bomb.gz: gzip data inflate to more than the limit of 1048576 bytes");
  std::vector<char> header = {0, 0, 8, 4};
  for (int i = 0; i < 16; ++i) header.push_back('\xff');
  EXPECT_CONTAINS(error_of([&] { parse_idx(header, "x.idx"); }), "x.idx: IDX sizes");
  std::vector<char> cifar(3073, 0);
  cifar[0] = 10;
  EXPECT_CONTAINS(error_of([&] { parse_cifar10_batch(cifar, "b.bin"); }), "label outside 0..9");
}

// -------------------------------------------------------------------------- configuration files

TEST(HostileConfigs, TheParserIsStrictAndNamesTheLine) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"[data]\nlimit = 2\n[data.info\n", "c.toml:3: unclosed table header '[data.info'"},
      {"[[train]]\n", "c.toml:1: arrays of tables"},
      {"[train]\nsteps = 1\nsteps = 2\n", "c.toml:3: key 'steps' appears twice in [train] (first at line 2)"},
      {"[train]\n[train]\n", "c.toml:2: table [train] appears twice"},
      {"steps = many\n", "c.toml:1: 'many' is not a value: strings need quotes"},
      {"name = \"open\n", "c.toml:1: unclosed string"},
      {"name = \"a\\qb\"\n", "c.toml:1: unknown escape '\\q'"},
      {"x = [1, 2\n", "c.toml:1: unclosed array"},
      {"x = 1 2\n", "c.toml:1: unexpected '2'"},
      {"a.b = 1\n", "c.toml:1: dotted key 'a.b'"},
      {"just words\n", "c.toml:1: expected 'key = value'"},
      {"x = {a = 1}\n", "inline tables are not supported"},
      {"x = 07\n", "'07' is not a value"},
  };
  for (const auto& [text, message] : cases)
    EXPECT_CONTAINS(error_of<InvalidArgument>([&] { parse_config(text, "c.toml"); }), message);
  const auto file = parse_config(
      "\xEF\xBB\xBF# ddim\r\ndevice = 'cpu'  # literal\r\n[analyze.inversion]\nn = 2_000\nlr = -1.5e-3\n"
      "images = [\n  \"a \\\"b\\\".png\",  # first\n  'c.png',\n]\nflag = true\nname = \"\\u00e9\"\n",
      "c.toml");
  ASSERT_EQ(file.entries.size(), 6u);
  EXPECT_EQ(file.entries[0].values, (std::vector<std::string>{"cpu"}));
  EXPECT_EQ(file.entries[1].table, (std::vector<std::string>{"analyze", "inversion"}));
  EXPECT_EQ(file.entries[1].values[0], "2000");
  EXPECT_EQ(file.entries[1].kinds[0], ConfigKind::Integer);
  EXPECT_EQ(file.entries[2].kinds[0], ConfigKind::Float);
  EXPECT_EQ(file.entries[3].values, (std::vector<std::string>{"a \"b\".png", "c.png"}));
  EXPECT_EQ(file.entries[3].line, 6);
  EXPECT_EQ(file.entries[4].kinds[0], ConfigKind::Boolean);
  EXPECT_EQ(file.entries[5].values[0], "\xC3\xA9");
}

TEST(HostileConfigs, ThePresetsParse) {
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator(source_dir() + "/configs")) {
    if (e.path().extension() != ".toml") continue;
    const auto file = parse_config(read_text(e.path().string()), e.path().string());
    EXPECT_FALSE(file.entries.empty()) << e.path();
    ++n;
  }
  EXPECT_GE(n, 5);
}

// --------------------------------------------------------------------------------- interrupts

TEST(Interrupts, LongLoopsThrowAndTrainingSavesBeforeItsPreview) {
  InterruptGuard guard;
  EXPECT_NO_THROW(throw_if_interrupted());
  request_interrupt(SIGTERM);
  EXPECT_TRUE(interrupt_requested());
  try {
    throw_if_interrupted();
    ADD_FAILURE() << "no throw";
  } catch (const Interrupted& e) {
    EXPECT_EQ(e.signal(), SIGTERM);
    EXPECT_EQ(std::string(e.what()), "interrupted (SIGTERM)");
  }
  {
    InterruptDeferral defer;
    EXPECT_NO_THROW(throw_if_interrupted());
  }
  // Sampling stops at its next step.
  const auto d = denoiser_from_checkpoint(tiny_denoiser_checkpoint(), "tiny");
  const auto grid = make_time_grid(d.schedule(), 4);
  EXPECT_THROW(generate(d, torch::randn({2, 1, 8, 8}), grid, {}, 1), Interrupted);
  clear_interrupt();
  EXPECT_EQ(generate(d, torch::randn({2, 1, 8, 8}), grid, {}, 1).size(0), 2);

  // A run whose final preview is interrupted ends Stopped with its last checkpoint written.
  struct Task : TrainingTask {
    std::vector<std::string> events;
    std::string dir;
    torch::Tensor step(int64_t) override { return torch::zeros({}); }
    double learning_rate(int64_t) const override { return 0; }
    Checkpoint checkpoint(int64_t step) const override {
      Checkpoint ck;
      ck.meta["step"] = step;
      return ck;
    }
    void restore(const Checkpoint&, const std::string&) override {}
    std::optional<Preview> preview(int64_t step) override {
      events.push_back(fmt::format("preview {} after checkpoint {}", step, file_exists(dir + "/model.pt")));
      request_interrupt(SIGTERM);  // as if the signal came during the preview's sampling
      throw_if_interrupted();
      return Preview{};
    }
    int64_t examples_per_step() const override { return 1; }
  } task;
  RunOptions o;
  o.dir = scratch_dir() + "/run";
  o.steps = 3;
  o.checkpoint_every = 3;
  o.preview_every = 3;
  task.dir = o.dir;
  RunCallbacks cb;
  cb.on_preview = [&](int64_t, const Preview&) { task.events.push_back("preview drawn"); };
  const auto r = run_training(task, o, 0, cb);
  EXPECT_EQ(r.end, RunEnd::Stopped);
  EXPECT_EQ(r.step, 3);
  EXPECT_EQ(task.events, (std::vector<std::string>{"preview 3 after checkpoint true"}));
  EXPECT_EQ(load_checkpoint(o.dir + "/model.pt").meta["step"], 3);
}

// ----------------------------------------------------------------------------- fuzz corpora

TEST(FuzzCorpus, TheSeedInputsAreAccepted) {
  // Fuzzing starts from inputs the readers accept, so that mutations reach past the first check.
  const auto corpus = source_dir() + "/tests/fuzz/corpus";
  EXPECT_EQ(load_denoiser(corpus + "/checkpoint/denoiser-unet-1x8x8.pt").data().shape,
            (std::vector<int64_t>{1, 8, 8}));
  EXPECT_EQ(load_seeds(corpus + "/tensor/seeds-1x8x8.pt", {1, 8, 8}).size(0), 1);
  for (const auto& e : std::filesystem::directory_iterator(corpus + "/image"))
    EXPECT_GT(decode_image(read_bytes(e.path().string()), e.path().string()).numel(), 0) << e.path();
  for (const auto& e : std::filesystem::directory_iterator(corpus + "/config"))
    EXPECT_FALSE(parse_config(read_text(e.path().string()), e.path().string()).entries.empty()) << e.path();
  for (const auto& e : std::filesystem::directory_iterator(corpus + "/idx")) {
    auto bytes = read_bytes(e.path().string());
    if (is_gzip(bytes)) bytes = gunzip(bytes, e.path().string());
    EXPECT_NO_THROW(parse_idx(bytes, e.path().string())) << e.path();
  }
  EXPECT_EQ(parse_cifar10_batch(read_bytes(corpus + "/cifar/two-records.bin"), "cifar").images.size(0), 2);
}
