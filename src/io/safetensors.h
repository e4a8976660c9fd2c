// safetensors.h: reader and writer of the safetensors format (8-byte little-endian header length, JSON header,
// raw little-endian data). Used for golden test vectors, diffusers/transformers weights and our own outputs
// (attention maps). The reader checks every offset against the file size, so a truncated or corrupt file
// gives a clear error instead of a crash.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace glm {

enum class st_dtype { f32, f16, bf16, f64, i64, i32, i16, i8, u8, boolean };

const char * st_dtype_name(st_dtype t);
size_t       st_dtype_size(st_dtype t);

struct st_tensor {
    std::string          name;
    st_dtype             dtype = st_dtype::f32;
    std::vector<int64_t> shape;  // outermost first, as in PyTorch
    const uint8_t *      data  = nullptr;
    size_t               nbytes = 0;

    int64_t numel() const;
    // Converts to float32 (any floating or integer dtype).
    std::vector<float>   to_f32() const;
    std::vector<int32_t> to_i32() const;
    std::string          shape_str() const;
};

class safetensors_file {
public:
    // Reads the whole file into memory. Throws glm::error on any inconsistency.
    explicit safetensors_file(const std::string & path);

    const std::string & path() const { return path_; }
    bool                has(const std::string & name) const;
    const st_tensor &   get(const std::string & name) const;  // throws "file: no tensor 'name'"
    // get() plus a shape check; an empty expected shape skips the check.
    const st_tensor &   get(const std::string & name, const std::vector<int64_t> & shape) const;
    std::vector<std::string> names() const;
    const std::map<std::string, std::string> & metadata() const { return metadata_; }

private:
    std::string                        path_;
    std::vector<uint8_t>               bytes_;
    std::map<std::string, st_tensor>   tensors_;
    std::map<std::string, std::string> metadata_;
};

class safetensors_writer {
public:
    void add(const std::string & name, st_dtype dtype, const std::vector<int64_t> & shape, const void * data);
    void add_f32(const std::string & name, const std::vector<int64_t> & shape, const std::vector<float> & v);
    void add_i32(const std::string & name, const std::vector<int64_t> & shape, const std::vector<int32_t> & v);
    void set_metadata(const std::string & key, const std::string & value) { metadata_[key] = value; }
    void write(const std::string & path) const;

private:
    struct entry {
        std::string          name;
        st_dtype             dtype;
        std::vector<int64_t> shape;
        std::vector<uint8_t> bytes;
    };
    std::vector<entry>                 entries_;
    std::map<std::string, std::string> metadata_;
};

}  // namespace glm
