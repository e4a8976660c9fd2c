// gguf-loader.h: a strict reader of GGUF model files for our own graphs.
//
// Metadata keys are read with their type checked; tensors are loaded into one buffer of the chosen backend,
// every tensor is fetched with its expected shape (ggml order, ne0 first), and check_all_used() reports
// tensors the graph never asked for. A truncated or corrupt file gives a one-line error naming the file.
#pragma once

#include "ggml-backend.h"
#include "ggml.h"
#include "gguf.h"

#include <cstdint>
#include <set>
#include <string>
#include <vector>

namespace glm {

class gguf_loader {
public:
    // Opens the file and reads its metadata and tensor descriptions (no tensor data yet).
    explicit gguf_loader(const std::string & path);
    ~gguf_loader();
    gguf_loader(const gguf_loader &)             = delete;
    gguf_loader & operator=(const gguf_loader &) = delete;

    const std::string & path() const { return path_; }

    // --- metadata
    bool                     has_key(const std::string & key) const;
    std::string              get_str(const std::string & key) const;
    int64_t                  get_int(const std::string & key) const;  // any integer type
    double                   get_float(const std::string & key) const;  // any numeric type
    bool                     get_bool(const std::string & key) const;
    std::vector<float>       get_arr_f32(const std::string & key) const;
    std::vector<int64_t>     get_arr_int(const std::string & key) const;
    std::vector<std::string> get_arr_str(const std::string & key) const;
    std::string              get_str(const std::string & key, const std::string & def) const;
    int64_t                  get_int(const std::string & key, int64_t def) const;
    double                   get_float(const std::string & key, double def) const;
    bool                     get_bool(const std::string & key, bool def) const;

    // --- tensors
    bool has_tensor(const std::string & name) const;
    // The shape (ne, ggml order) of tensor `name` as the file stores it; throws when missing.
    std::vector<int64_t> tensor_ne(const std::string & name) const;
    std::vector<std::string> tensor_names() const;
    // Reads all tensor data into a buffer on `backend` (weights live there for the loader's lifetime).
    void load(ggml_backend_t backend);
    // The tensor `name` with the given ne (trailing 1s may be omitted); throws when missing or of another shape.
    ggml_tensor * get(const std::string & name, std::vector<int64_t> ne) const;
    ggml_tensor * get_opt(const std::string & name, std::vector<int64_t> ne) const;  // nullptr when absent
    // The tensor's description (type, ne) without a shape check; nullptr when absent. Does not count as use.
    const ggml_tensor * describe(const std::string & name) const;
    // Marks a tensor the model knowingly does not use (e.g. layers past the feature layer) as expected.
    void skip(const std::string & name) const;
    // Throws naming the tensors of the file that no get() asked for.
    void check_all_used() const;

    size_t total_bytes() const;

private:
    std::string                     path_;
    gguf_context *                  gguf_ = nullptr;
    ggml_context *                  meta_ = nullptr;   // tensor descriptions, data in buf_
    ggml_backend_buffer_t           buf_  = nullptr;
    mutable std::set<std::string>   used_;

    int64_t key_id(const std::string & key) const;
};

// Small helpers for writing GGUF files (converters, exports).
struct gguf_writer {
    gguf_writer();
    ~gguf_writer();
    gguf_writer(const gguf_writer &)             = delete;
    gguf_writer & operator=(const gguf_writer &) = delete;

    void set_str(const std::string & key, const std::string & v);
    void set_u32(const std::string & key, uint32_t v);
    void set_i32(const std::string & key, int32_t v);
    void set_f32(const std::string & key, float v);
    void set_bool(const std::string & key, bool v);
    void set_arr_f32(const std::string & key, const std::vector<float> & v);
    void set_arr_i32(const std::string & key, const std::vector<int32_t> & v);
    void set_arr_str(const std::string & key, const std::vector<std::string> & v);
    // Adds a tensor from float32 data, converted to `type` (F32, F16 or a quantized type whose block size
    // divides ne[0]). ne in ggml order.
    void add_tensor(const std::string & name, ggml_type type, const std::vector<int64_t> & ne, const float * data);
    void write(const std::string & path) const;

    gguf_context * ctx() const { return gguf_; }

private:
    gguf_context *              gguf_ = nullptr;
    std::vector<ggml_context *> tensor_ctxs_;
};

}  // namespace glm
