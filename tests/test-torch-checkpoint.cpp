// Unit tests of the PyTorch checkpoint reader (src/torch-checkpoint.h) on fixtures written by real PyTorch
// (tests/data/torch-checkpoint/make.py: nested dicts, f16/bf16/i64, strided views, storage offsets,
// parameters, protocol 2 and 4, a legacy file) and the SAM golden checkpoint, plus truncated and corrupted
// copies that must give a one-line glm::error and never crash.
#include "common.h"
#include "safetensors.h"
#include "torch-checkpoint.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

using namespace glm;

static const std::string k_dir = std::string(GLM_SOURCE_DIR) + "/tests/data/torch-checkpoint";

static std::string temp_path(const std::string & name) {
    const std::string dir = (std::filesystem::temp_directory_path() / "glm-test-torch-checkpoint").string();
    make_dirs(dir);
    return dir + "/" + name;
}

static void expect_values(const torch_checkpoint & ck, const std::string & name, const std::vector<float> & want) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(ck.has(name));
    const std::vector<float> got = ck.to_f32(ck.get(name));
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) {
        EXPECT_EQ(got[i], want[i]) << "at " << i;
    }
}

static void check_fixture(const std::string & file) {
    torch_checkpoint ck(k_dir + "/" + file);
    EXPECT_EQ(ck.find_prefix("enc.weight"), "model.");

    // a = arange(12).reshape(3, 4) * 0.5
    const torch_tensor & a = ck.get("model.enc.weight");
    EXPECT_EQ(a.dtype, torch_dtype::f32);
    EXPECT_EQ(a.shape, (std::vector<int64_t>{ 3, 4 }));
    EXPECT_TRUE(a.is_contiguous());
    std::vector<float> av(12), at(12);
    for (int i = 0; i < 12; ++i) {
        av[i] = 0.5f * i;
    }
    for (int r = 0; r < 4; ++r) {
        for (int c = 0; c < 3; ++c) {
            at[r * 3 + c] = av[c * 4 + r];
        }
    }
    expect_values(ck, "model.enc.weight", av);
    // a.t(): strided view of the same storage
    const torch_tensor & t = ck.get("model.enc.weight_t");
    EXPECT_EQ(t.shape, (std::vector<int64_t>{ 4, 3 }));
    EXPECT_EQ(t.strides, (std::vector<int64_t>{ 1, 4 }));
    EXPECT_FALSE(t.is_contiguous());
    expect_values(ck, "model.enc.weight_t", at);
    // (arange(20) - 7)[5:11].view(2, 3): storage offset 5
    EXPECT_EQ(ck.get("model.enc.slice").storage_offset, 5);
    expect_values(ck, "model.enc.slice", { -2, -1, 0, 1, 2, 3 });
    EXPECT_EQ(ck.get("model.enc.half").dtype, torch_dtype::f16);
    expect_values(ck, "model.enc.half", { 0, 0.25f, 0.5f, 0.75f, 1.0f, 1.25f });
    EXPECT_EQ(ck.get("model.enc.bf16").dtype, torch_dtype::bf16);
    expect_values(ck, "model.enc.bf16", { 1.5f, 2.5f, 3.5f, 4.5f });
    EXPECT_EQ(ck.get("model.enc.steps").dtype, torch_dtype::i64);
    EXPECT_EQ(ck.to_i64(ck.get("model.enc.steps")), (std::vector<int64_t>{ 0, -3, -6, -9, -12 }));
    EXPECT_TRUE(ck.get("model.enc.scalar").shape.empty());
    expect_values(ck, "model.enc.scalar", { 2.5f });
    expect_values(ck, "model.enc.param", { 3, 3, 3, 3 });
    // lists and tuples are indexed, f64 converts
    expect_values(ck, "extra.0", { 0, 0 });
    EXPECT_EQ(ck.get("extra.1.0").dtype, torch_dtype::f64);
    expect_values(ck, "extra.1.0", { 1 });
    EXPECT_EQ(ck.size(), 10u);
    // non-tensor leaves, including the attributes of an argparse.Namespace
    EXPECT_EQ(ck.scalars().at("epoch"), "3");
    EXPECT_EQ(std::stod(ck.scalars().at("lr")), 0.5);
    EXPECT_EQ(ck.scalars().at("name"), "fixture");
    EXPECT_EQ(ck.scalars().at("args.depth"), "4");
    EXPECT_EQ(ck.scalars().at("args.tag"), "x");
    EXPECT_EQ(ck.scalars().at("extra.1.1"), "7");
    // a missing name is a clear error
    EXPECT_THROW(ck.get("model.nope"), glm::error);
    EXPECT_THROW(ck.find_prefix("nope.weight"), glm::error);
}

TEST(TorchCheckpoint, NestedProtocol2) { check_fixture("nested.pt"); }

TEST(TorchCheckpoint, NestedProtocol4) { check_fixture("nested-proto4.pt"); }

TEST(TorchCheckpoint, DeeplyNestedPickle) {
    torch_checkpoint ck(k_dir + "/deep.pt");  // a list nested 200000 deep: loads, no tensors, no stack overflow
    EXPECT_EQ(ck.size(), 0u);
}

TEST(TorchCheckpoint, SamGoldenMatchesSafetensors) {
    const std::string dir = std::string(GLM_GOLDEN_ROOT) + "/sam";
    torch_checkpoint  ck(dir + "/sam-tiny.pth");
    safetensors_file  st(dir + "/sam-tiny.safetensors");
    EXPECT_EQ(ck.names(), st.names());
    EXPECT_EQ(ck.find_prefix("image_encoder.pos_embed"), "");
    for (const std::string & n : st.names()) {
        const torch_tensor & t = ck.get(n);
        EXPECT_EQ(t.shape, st.get(n).shape) << n;
        EXPECT_EQ(ck.to_f32(t), st.get(n).to_f32()) << n;
    }
}

static std::string expect_error(const std::string & path) {
    try {
        torch_checkpoint ck(path);
        for (const std::string & n : ck.names()) {
            ck.to_f32(ck.get(n));  // data errors surface here
        }
    } catch (const glm::error & e) {
        const std::string msg = e.what();
        EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
        EXPECT_NE(msg.find(path), std::string::npos) << msg;
        return msg;
    }
    ADD_FAILURE() << path << ": no error";
    return "";
}

TEST(TorchCheckpoint, Errors) {
    EXPECT_NE(expect_error(k_dir + "/legacy.pt").find("legacy"), std::string::npos);
    expect_error(k_dir + "/does-not-exist.pt");

    const std::string empty = temp_path("empty.pt");
    write_file(empty, "");
    expect_error(empty);
    const std::string text = temp_path("text.pt");
    write_file(text, "this is not a checkpoint\n");
    expect_error(text);
    const std::string st = temp_path("weights.pt");  // a safetensors file under a .pt name
    const std::vector<uint8_t> stb = read_file(std::string(GLM_GOLDEN_ROOT) + "/sam/sam-tiny.safetensors");
    write_file(st, stb.data(), stb.size());
    expect_error(st);
}

TEST(TorchCheckpoint, TruncatedFilesFailCleanly) {
    const std::vector<uint8_t> full = read_file(k_dir + "/nested.pt");
    for (size_t cut : { (size_t) 4, (size_t) 30, (size_t) 100, full.size() / 3, full.size() / 2, full.size() - 100,
                        full.size() - 22, full.size() - 1 }) {
        SCOPED_TRACE(cut);
        const std::string p = temp_path("truncated.pt");
        write_file(p, full.data(), cut);
        expect_error(p);
    }
}

TEST(TorchCheckpoint, CorruptedBytesNeverCrash) {
    // flip bytes all over the archive (headers, pickle, data, central directory): either an error or a load
    const std::vector<uint8_t> full = read_file(k_dir + "/nested-proto4.pt");
    int                        n_err = 0, n_ok = 0;
    for (size_t pos = 0; pos < full.size(); pos += 7) {
        std::vector<uint8_t> bad = full;
        bad[pos] ^= 0x5a;
        const std::string p = temp_path("corrupt.pt");
        write_file(p, bad.data(), bad.size());
        try {
            torch_checkpoint ck(p);
            for (const std::string & n : ck.names()) {
                ck.to_f32(ck.get(n));
            }
            ++n_ok;
        } catch (const glm::error &) {
            ++n_err;
        }
    }
    EXPECT_GT(n_err, 0);
    printf("corrupted copies: %d errors, %d loads\n", n_err, n_ok);
}
