#include "safetensors.h"

#include "common.h"

#include <nlohmann/json.hpp>

#include <cstring>

#include "ggml.h"  // ggml_fp16_to_fp32, ggml_bf16_to_fp32

namespace glm {

using json = nlohmann::json;

static const struct {
    st_dtype    t;
    const char *name;
    size_t      size;
} k_dtypes[] = {
    { st_dtype::f32, "F32", 4 },  { st_dtype::f16, "F16", 2 }, { st_dtype::bf16, "BF16", 2 },
    { st_dtype::f64, "F64", 8 },  { st_dtype::i64, "I64", 8 }, { st_dtype::i32, "I32", 4 },
    { st_dtype::i16, "I16", 2 },  { st_dtype::i8, "I8", 1 },   { st_dtype::u8, "U8", 1 },
    { st_dtype::boolean, "BOOL", 1 },
};

const char * st_dtype_name(st_dtype t) {
    for (const auto & d : k_dtypes) {
        if (d.t == t) {
            return d.name;
        }
    }
    return "?";
}

size_t st_dtype_size(st_dtype t) {
    for (const auto & d : k_dtypes) {
        if (d.t == t) {
            return d.size;
        }
    }
    return 0;
}

int64_t st_tensor::numel() const {
    int64_t n = 1;
    for (int64_t d : shape) {
        n *= d;
    }
    return n;
}

std::string st_tensor::shape_str() const {
    std::string s = "[";
    for (size_t i = 0; i < shape.size(); ++i) {
        s += (i ? "," : "") + std::to_string(shape[i]);
    }
    return s + "]";
}

template <typename T> static T load(const uint8_t * p) {
    T v;
    memcpy(&v, p, sizeof(T));
    return v;
}

std::vector<float> st_tensor::to_f32() const {
    const int64_t      n = numel();
    std::vector<float> out((size_t) n);
    for (int64_t i = 0; i < n; ++i) {
        const uint8_t * p = data + i * st_dtype_size(dtype);
        switch (dtype) {
            case st_dtype::f32:  out[i] = load<float>(p); break;
            case st_dtype::f16:  out[i] = ggml_fp16_to_fp32(load<ggml_fp16_t>(p)); break;
            case st_dtype::bf16: {
                uint32_t u = (uint32_t) load<uint16_t>(p) << 16;
                float    f;
                memcpy(&f, &u, 4);
                out[i] = f;
            } break;
            case st_dtype::f64:     out[i] = (float) load<double>(p); break;
            case st_dtype::i64:     out[i] = (float) load<int64_t>(p); break;
            case st_dtype::i32:     out[i] = (float) load<int32_t>(p); break;
            case st_dtype::i16:     out[i] = (float) load<int16_t>(p); break;
            case st_dtype::i8:      out[i] = (float) load<int8_t>(p); break;
            case st_dtype::u8:
            case st_dtype::boolean: out[i] = (float) *p; break;
        }
    }
    return out;
}

std::vector<int32_t> st_tensor::to_i32() const {
    const int64_t        n = numel();
    std::vector<int32_t> out((size_t) n);
    for (int64_t i = 0; i < n; ++i) {
        const uint8_t * p = data + i * st_dtype_size(dtype);
        switch (dtype) {
            case st_dtype::i64:     out[i] = (int32_t) load<int64_t>(p); break;
            case st_dtype::i32:     out[i] = load<int32_t>(p); break;
            case st_dtype::i16:     out[i] = load<int16_t>(p); break;
            case st_dtype::i8:      out[i] = load<int8_t>(p); break;
            case st_dtype::u8:
            case st_dtype::boolean: out[i] = *p; break;
            default:
                fail("tensor '%s': expected an integer dtype, got %s", name.c_str(), st_dtype_name(dtype));
        }
    }
    return out;
}

safetensors_file::safetensors_file(const std::string & path) : path_(path) {
    bytes_ = read_file(path);
    if (bytes_.size() < 8) {
        fail("%s: not a safetensors file (%zu bytes, need at least 8)", path.c_str(), bytes_.size());
    }
    const uint64_t hlen = load<uint64_t>(bytes_.data());
    if (hlen > bytes_.size() - 8) {
        fail("%s: safetensors header length %llu exceeds the file size %zu (truncated?)", path.c_str(),
             (unsigned long long) hlen, bytes_.size());
    }
    json header;
    try {
        header = json::parse(bytes_.begin() + 8, bytes_.begin() + 8 + (ptrdiff_t) hlen);
    } catch (const std::exception & e) {
        fail("%s: safetensors header is not valid JSON (%s)", path.c_str(), e.what());
    }
    if (!header.is_object()) {
        fail("%s: safetensors header is not a JSON object", path.c_str());
    }
    const uint8_t * base  = bytes_.data() + 8 + hlen;
    const size_t    avail = bytes_.size() - 8 - hlen;
    for (auto it = header.begin(); it != header.end(); ++it) {
        if (it.key() == "__metadata__") {
            for (auto m = it.value().begin(); m != it.value().end(); ++m) {
                metadata_[m.key()] = m.value().is_string() ? m.value().get<std::string>() : m.value().dump();
            }
            continue;
        }
        const json & j = it.value();
        st_tensor    t;
        t.name = it.key();
        try {
            const std::string dt = j.at("dtype").get<std::string>();
            bool              ok = false;
            for (const auto & d : k_dtypes) {
                if (dt == d.name) {
                    t.dtype = d.t;
                    ok      = true;
                }
            }
            if (!ok) {
                fail("%s: tensor '%s' has unsupported dtype %s", path.c_str(), t.name.c_str(), dt.c_str());
            }
            t.shape          = j.at("shape").get<std::vector<int64_t>>();
            const auto offs  = j.at("data_offsets").get<std::vector<uint64_t>>();
            if (offs.size() != 2 || offs[0] > offs[1] || offs[1] > avail) {
                fail("%s: tensor '%s' data offsets out of range (file truncated?)", path.c_str(), t.name.c_str());
            }
            t.data   = base + offs[0];
            t.nbytes = offs[1] - offs[0];
        } catch (const json::exception & e) {
            fail("%s: tensor '%s' has a malformed header entry (%s)", path.c_str(), t.name.c_str(), e.what());
        }
        for (int64_t d : t.shape) {
            if (d < 0) {
                fail("%s: tensor '%s' has a negative dimension", path.c_str(), t.name.c_str());
            }
        }
        if ((size_t) t.numel() * st_dtype_size(t.dtype) != t.nbytes) {
            fail("%s: tensor '%s' %s %s needs %zu bytes, header gives %zu", path.c_str(), t.name.c_str(),
                 st_dtype_name(t.dtype), t.shape_str().c_str(), (size_t) t.numel() * st_dtype_size(t.dtype),
                 t.nbytes);
        }
        tensors_[t.name] = t;
    }
}

bool safetensors_file::has(const std::string & name) const { return tensors_.count(name) > 0; }

const st_tensor & safetensors_file::get(const std::string & name) const {
    auto it = tensors_.find(name);
    if (it == tensors_.end()) {
        fail("%s: no tensor '%s'", path_.c_str(), name.c_str());
    }
    return it->second;
}

const st_tensor & safetensors_file::get(const std::string & name, const std::vector<int64_t> & shape) const {
    const st_tensor & t = get(name);
    if (!shape.empty() && t.shape != shape) {
        st_tensor want;
        want.shape = shape;
        fail("%s: tensor '%s' has shape %s, expected %s", path_.c_str(), name.c_str(), t.shape_str().c_str(),
             want.shape_str().c_str());
    }
    return t;
}

std::vector<std::string> safetensors_file::names() const {
    std::vector<std::string> out;
    for (const auto & kv : tensors_) {
        out.push_back(kv.first);
    }
    return out;
}

void safetensors_writer::add(const std::string & name, st_dtype dtype, const std::vector<int64_t> & shape,
                             const void * data) {
    entry e{ name, dtype, shape, {} };
    size_t n = st_dtype_size(dtype);
    for (int64_t d : shape) {
        n *= (size_t) d;
    }
    e.bytes.assign((const uint8_t *) data, (const uint8_t *) data + n);
    entries_.push_back(std::move(e));
}

void safetensors_writer::add_f32(const std::string & name, const std::vector<int64_t> & shape,
                                 const std::vector<float> & v) {
    add(name, st_dtype::f32, shape, v.data());
}

void safetensors_writer::add_i32(const std::string & name, const std::vector<int64_t> & shape,
                                 const std::vector<int32_t> & v) {
    add(name, st_dtype::i32, shape, v.data());
}

void safetensors_writer::write(const std::string & path) const {
    json     header = json::object();
    uint64_t off    = 0;
    for (const auto & e : entries_) {
        header[e.name] = { { "dtype", st_dtype_name(e.dtype) },
                           { "shape", e.shape },
                           { "data_offsets", { off, off + e.bytes.size() } } };
        off += e.bytes.size();
    }
    if (!metadata_.empty()) {
        header["__metadata__"] = metadata_;
    }
    std::string h = header.dump();
    while ((h.size() + 8) % 8 != 0) {
        h += ' ';  // align the data section to 8 bytes, as the reference writer does
    }
    std::vector<uint8_t> out;
    out.reserve(8 + h.size() + off);
    const uint64_t hlen = h.size();
    out.insert(out.end(), (const uint8_t *) &hlen, (const uint8_t *) &hlen + 8);
    out.insert(out.end(), h.begin(), h.end());
    for (const auto & e : entries_) {
        out.insert(out.end(), e.bytes.begin(), e.bytes.end());
    }
    write_file(path, out.data(), out.size());
}

}  // namespace glm
