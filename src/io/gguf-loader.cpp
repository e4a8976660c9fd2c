#include "gguf-loader.h"

#include "common.h"

#include "ggml-alloc.h"

#include <cstdio>
#include <cstring>
#include <filesystem>

namespace glm {

static std::string ne_str(const std::vector<int64_t> & ne) {
    std::string s = "[";
    for (size_t i = 0; i < ne.size(); ++i) {
        s += (i ? ", " : "") + std::to_string(ne[i]);
    }
    return s + "]";
}

gguf_loader::gguf_loader(const std::string & path) : path_(path) {
    if (!file_exists(path)) {
        fail("%s: file not found", path.c_str());
    }
    FILE * f = fopen(path.c_str(), "rb");
    if (!f) {
        fail("%s: cannot open file (%s)", path.c_str(), strerror(errno));
    }
    char magic[4] = {};
    const size_t n = fread(magic, 1, 4, f);
    fclose(f);
    if (n != 4 || memcmp(magic, "GGUF", 4) != 0) {
        fail("%s: not a GGUF file (bad magic)", path.c_str());
    }
    gguf_init_params p = { /*.no_alloc =*/true, /*.ctx =*/&meta_ };
    gguf_              = gguf_init_from_file(path.c_str(), p);
    if (!gguf_) {
        fail("%s: corrupt or truncated GGUF header", path.c_str());
    }
    // every tensor's data must lie inside the file
    const uint64_t fsize = std::filesystem::file_size(path);
    const size_t   base  = gguf_get_data_offset(gguf_);
    for (int64_t i = 0; i < gguf_get_n_tensors(gguf_); ++i) {
        const size_t end = base + gguf_get_tensor_offset(gguf_, i) + gguf_get_tensor_size(gguf_, i);
        if (end > fsize) {
            fail("%s: truncated: tensor '%s' ends at byte %zu but the file has %llu bytes", path.c_str(),
                 gguf_get_tensor_name(gguf_, i), end, (unsigned long long) fsize);
        }
    }
}

gguf_loader::~gguf_loader() {
    if (buf_) {
        ggml_backend_buffer_free(buf_);
    }
    if (meta_) {
        ggml_free(meta_);
    }
    if (gguf_) {
        gguf_free(gguf_);
    }
}

int64_t gguf_loader::key_id(const std::string & key) const {
    const int64_t id = gguf_find_key(gguf_, key.c_str());
    if (id < 0) {
        fail("%s: missing metadata key '%s'", path_.c_str(), key.c_str());
    }
    return id;
}

bool gguf_loader::has_key(const std::string & key) const { return gguf_find_key(gguf_, key.c_str()) >= 0; }

std::string gguf_loader::get_str(const std::string & key) const {
    const int64_t id = key_id(key);
    if (gguf_get_kv_type(gguf_, id) != GGUF_TYPE_STRING) {
        fail("%s: key '%s' has type %s, expected string", path_.c_str(), key.c_str(),
             gguf_type_name(gguf_get_kv_type(gguf_, id)));
    }
    return gguf_get_val_str(gguf_, id);
}

int64_t gguf_loader::get_int(const std::string & key) const {
    const int64_t id = key_id(key);
    switch (gguf_get_kv_type(gguf_, id)) {
        case GGUF_TYPE_UINT8:  return gguf_get_val_u8(gguf_, id);
        case GGUF_TYPE_INT8:   return gguf_get_val_i8(gguf_, id);
        case GGUF_TYPE_UINT16: return gguf_get_val_u16(gguf_, id);
        case GGUF_TYPE_INT16:  return gguf_get_val_i16(gguf_, id);
        case GGUF_TYPE_UINT32: return gguf_get_val_u32(gguf_, id);
        case GGUF_TYPE_INT32:  return gguf_get_val_i32(gguf_, id);
        case GGUF_TYPE_UINT64: return (int64_t) gguf_get_val_u64(gguf_, id);
        case GGUF_TYPE_INT64:  return gguf_get_val_i64(gguf_, id);
        default:
            fail("%s: key '%s' has type %s, expected an integer", path_.c_str(), key.c_str(),
                 gguf_type_name(gguf_get_kv_type(gguf_, id)));
    }
}

double gguf_loader::get_float(const std::string & key) const {
    const int64_t id = key_id(key);
    switch (gguf_get_kv_type(gguf_, id)) {
        case GGUF_TYPE_FLOAT32: return gguf_get_val_f32(gguf_, id);
        case GGUF_TYPE_FLOAT64: return gguf_get_val_f64(gguf_, id);
        default:                return (double) get_int(key);
    }
}

bool gguf_loader::get_bool(const std::string & key) const {
    const int64_t id = key_id(key);
    if (gguf_get_kv_type(gguf_, id) != GGUF_TYPE_BOOL) {
        fail("%s: key '%s' has type %s, expected bool", path_.c_str(), key.c_str(),
             gguf_type_name(gguf_get_kv_type(gguf_, id)));
    }
    return gguf_get_val_bool(gguf_, id);
}

template <typename T> static std::vector<T> read_arr(gguf_context * g, int64_t id, const std::string & path,
                                                     const std::string & key) {
    if (gguf_get_kv_type(g, id) != GGUF_TYPE_ARRAY) {
        fail("%s: key '%s' is not an array", path.c_str(), key.c_str());
    }
    const gguf_type et   = gguf_get_arr_type(g, id);
    const size_t    n    = gguf_get_arr_n(g, id);
    const void *    data = gguf_get_arr_data(g, id);
    std::vector<T>  out(n);
    for (size_t i = 0; i < n; ++i) {
        switch (et) {
            case GGUF_TYPE_FLOAT32: out[i] = (T) ((const float *) data)[i]; break;
            case GGUF_TYPE_FLOAT64: out[i] = (T) ((const double *) data)[i]; break;
            case GGUF_TYPE_INT32:   out[i] = (T) ((const int32_t *) data)[i]; break;
            case GGUF_TYPE_UINT32:  out[i] = (T) ((const uint32_t *) data)[i]; break;
            case GGUF_TYPE_INT64:   out[i] = (T) ((const int64_t *) data)[i]; break;
            case GGUF_TYPE_UINT64:  out[i] = (T) ((const uint64_t *) data)[i]; break;
            case GGUF_TYPE_INT16:   out[i] = (T) ((const int16_t *) data)[i]; break;
            case GGUF_TYPE_UINT16:  out[i] = (T) ((const uint16_t *) data)[i]; break;
            case GGUF_TYPE_INT8:    out[i] = (T) ((const int8_t *) data)[i]; break;
            case GGUF_TYPE_UINT8:   out[i] = (T) ((const uint8_t *) data)[i]; break;
            default:
                fail("%s: key '%s' is an array of %s, expected numbers", path.c_str(), key.c_str(),
                     gguf_type_name(et));
        }
    }
    return out;
}

std::vector<float> gguf_loader::get_arr_f32(const std::string & key) const {
    return read_arr<float>(gguf_, key_id(key), path_, key);
}

std::vector<int64_t> gguf_loader::get_arr_int(const std::string & key) const {
    return read_arr<int64_t>(gguf_, key_id(key), path_, key);
}

std::vector<std::string> gguf_loader::get_arr_str(const std::string & key) const {
    const int64_t id = key_id(key);
    if (gguf_get_kv_type(gguf_, id) != GGUF_TYPE_ARRAY || gguf_get_arr_type(gguf_, id) != GGUF_TYPE_STRING) {
        fail("%s: key '%s' is not an array of strings", path_.c_str(), key.c_str());
    }
    std::vector<std::string> out(gguf_get_arr_n(gguf_, id));
    for (size_t i = 0; i < out.size(); ++i) {
        out[i] = gguf_get_arr_str(gguf_, id, i);
    }
    return out;
}

std::string gguf_loader::get_str(const std::string & key, const std::string & def) const {
    return has_key(key) ? get_str(key) : def;
}

int64_t gguf_loader::get_int(const std::string & key, int64_t def) const { return has_key(key) ? get_int(key) : def; }

double gguf_loader::get_float(const std::string & key, double def) const {
    return has_key(key) ? get_float(key) : def;
}

bool gguf_loader::get_bool(const std::string & key, bool def) const { return has_key(key) ? get_bool(key) : def; }

bool gguf_loader::has_tensor(const std::string & name) const {
    return ggml_get_tensor(meta_, name.c_str()) != nullptr;
}

std::vector<int64_t> gguf_loader::tensor_ne(const std::string & name) const {
    const ggml_tensor * t = ggml_get_tensor(meta_, name.c_str());
    if (!t) {
        fail("%s: missing tensor '%s'", path_.c_str(), name.c_str());
    }
    return std::vector<int64_t>(t->ne, t->ne + GGML_MAX_DIMS);
}

std::vector<std::string> gguf_loader::tensor_names() const {
    std::vector<std::string> out;
    for (int64_t i = 0; i < gguf_get_n_tensors(gguf_); ++i) {
        out.push_back(gguf_get_tensor_name(gguf_, i));
    }
    return out;
}

void gguf_loader::load(ggml_backend_t backend) {
    if (buf_) {
        fail("%s: tensors already loaded", path_.c_str());
    }
    buf_ = ggml_backend_alloc_ctx_tensors(meta_, backend);
    if (!buf_ && gguf_get_n_tensors(gguf_) > 0) {
        fail("%s: cannot allocate %zu bytes for the weights on %s", path_.c_str(), total_bytes(),
             ggml_backend_name(backend));
    }
    if (buf_) {
        ggml_backend_buffer_set_usage(buf_, GGML_BACKEND_BUFFER_USAGE_WEIGHTS);
    }
    FILE * f = fopen(path_.c_str(), "rb");
    if (!f) {
        fail("%s: cannot open file (%s)", path_.c_str(), strerror(errno));
    }
    std::vector<uint8_t> tmp;
    const size_t         base = gguf_get_data_offset(gguf_);
    for (int64_t i = 0; i < gguf_get_n_tensors(gguf_); ++i) {
        const char *  name = gguf_get_tensor_name(gguf_, i);
        ggml_tensor * t    = ggml_get_tensor(meta_, name);
        const size_t  n    = ggml_nbytes(t);
        tmp.resize(n);
        if (fseeko(f, (off_t) (base + gguf_get_tensor_offset(gguf_, i)), SEEK_SET) != 0 ||
            fread(tmp.data(), 1, n, f) != n) {
            fclose(f);
            fail("%s: cannot read the data of tensor '%s' (truncated file?)", path_.c_str(), name);
        }
        ggml_backend_tensor_set(t, tmp.data(), 0, n);
    }
    fclose(f);
}

ggml_tensor * gguf_loader::get_opt(const std::string & name, std::vector<int64_t> ne) const {
    ggml_tensor * t = ggml_get_tensor(meta_, name.c_str());
    if (!t) {
        return nullptr;
    }
    std::vector<int64_t> have(t->ne, t->ne + GGML_MAX_DIMS);
    ne.resize(GGML_MAX_DIMS, 1);
    if (have != ne) {
        while (have.size() > 1 && have.back() == 1) {
            have.pop_back();
        }
        while (ne.size() > 1 && ne.back() == 1) {
            ne.pop_back();
        }
        fail("%s: tensor '%s' has shape %s, expected %s", path_.c_str(), name.c_str(), ne_str(have).c_str(),
             ne_str(ne).c_str());
    }
    if (!buf_) {
        fail("%s: tensor '%s' requested before load()", path_.c_str(), name.c_str());
    }
    used_.insert(name);
    return t;
}

ggml_tensor * gguf_loader::get(const std::string & name, std::vector<int64_t> ne) const {
    ggml_tensor * t = get_opt(name, std::move(ne));
    if (!t) {
        fail("%s: missing tensor '%s'", path_.c_str(), name.c_str());
    }
    return t;
}

const ggml_tensor * gguf_loader::describe(const std::string & name) const {
    return ggml_get_tensor(meta_, name.c_str());
}

void gguf_loader::skip(const std::string & name) const {
    if (has_tensor(name)) {
        used_.insert(name);
    }
}

void gguf_loader::check_all_used() const {
    std::string unused;
    int         n = 0;
    for (int64_t i = 0; i < gguf_get_n_tensors(gguf_); ++i) {
        const char * name = gguf_get_tensor_name(gguf_, i);
        if (!used_.count(name)) {
            if (n < 5) {
                unused += (n ? ", " : "") + std::string(name);
            }
            ++n;
        }
    }
    if (n > 0) {
        fail("%s: %d unexpected tensor(s) in the file: %s%s", path_.c_str(), n, unused.c_str(), n > 5 ? ", ..." : "");
    }
}

size_t gguf_loader::total_bytes() const {
    size_t s = 0;
    for (int64_t i = 0; i < gguf_get_n_tensors(gguf_); ++i) {
        s += gguf_get_tensor_size(gguf_, i);
    }
    return s;
}

// ---------------------------------------------------------------------------------------------------------

gguf_writer::gguf_writer() : gguf_(gguf_init_empty()) {}

gguf_writer::~gguf_writer() {
    gguf_free(gguf_);
    for (ggml_context * c : tensor_ctxs_) {
        ggml_free(c);
    }
}

void gguf_writer::set_str(const std::string & k, const std::string & v) { gguf_set_val_str(gguf_, k.c_str(), v.c_str()); }
void gguf_writer::set_u32(const std::string & k, uint32_t v) { gguf_set_val_u32(gguf_, k.c_str(), v); }
void gguf_writer::set_i32(const std::string & k, int32_t v) { gguf_set_val_i32(gguf_, k.c_str(), v); }
void gguf_writer::set_f32(const std::string & k, float v) { gguf_set_val_f32(gguf_, k.c_str(), v); }
void gguf_writer::set_bool(const std::string & k, bool v) { gguf_set_val_bool(gguf_, k.c_str(), v); }

void gguf_writer::set_arr_f32(const std::string & k, const std::vector<float> & v) {
    gguf_set_arr_data(gguf_, k.c_str(), GGUF_TYPE_FLOAT32, v.data(), v.size());
}

void gguf_writer::set_arr_i32(const std::string & k, const std::vector<int32_t> & v) {
    gguf_set_arr_data(gguf_, k.c_str(), GGUF_TYPE_INT32, v.data(), v.size());
}

void gguf_writer::set_arr_str(const std::string & k, const std::vector<std::string> & v) {
    std::vector<const char *> p;
    for (const auto & s : v) {
        p.push_back(s.c_str());
    }
    gguf_set_arr_str(gguf_, k.c_str(), p.data(), p.size());
}

void gguf_writer::add_tensor(const std::string & name, ggml_type type, const std::vector<int64_t> & ne,
                             const float * data) {
    if (ne.empty() || ne.size() > GGML_MAX_DIMS) {
        fail("gguf_writer: tensor '%s' has %zu dimensions", name.c_str(), ne.size());
    }
    if (ne[0] % ggml_blck_size(type) != 0) {
        fail("gguf_writer: tensor '%s' with ne0=%lld cannot be stored as %s (block size %lld)", name.c_str(),
             (long long) ne[0], ggml_type_name(type), (long long) ggml_blck_size(type));
    }
    int64_t n = 1;
    for (int64_t d : ne) {
        n *= d;
    }
    const size_t nbytes = ggml_row_size(type, ne[0]) * (size_t) (n / ne[0]);
    ggml_init_params p  = { ggml_tensor_overhead() + nbytes + 64, nullptr, false };
    ggml_context *   c  = ggml_init(p);
    tensor_ctxs_.push_back(c);
    ggml_tensor * t = nullptr;
    switch (ne.size()) {
        case 1: t = ggml_new_tensor_1d(c, type, ne[0]); break;
        case 2: t = ggml_new_tensor_2d(c, type, ne[0], ne[1]); break;
        case 3: t = ggml_new_tensor_3d(c, type, ne[0], ne[1], ne[2]); break;
        default: t = ggml_new_tensor_4d(c, type, ne[0], ne[1], ne[2], ne[3]); break;
    }
    ggml_set_name(t, name.c_str());
    if (type == GGML_TYPE_F32) {
        memcpy(t->data, data, nbytes);
    } else if (type == GGML_TYPE_F16) {
        ggml_fp32_to_fp16_row(data, (ggml_fp16_t *) t->data, n);
    } else {
        ggml_quantize_chunk(type, data, t->data, 0, n / ne[0], ne[0], nullptr);
    }
    gguf_add_tensor(gguf_, t);
}

void gguf_writer::write(const std::string & path) const {
    if (!gguf_write_to_file(gguf_, path.c_str(), false)) {
        fail("%s: cannot write GGUF file", path.c_str());
    }
}

}  // namespace glm
