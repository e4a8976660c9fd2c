// torch-checkpoint.h: a reader of PyTorch checkpoints written by torch.save (the zip format of torch >= 1.6).
//
// A checkpoint is a zip archive `<name>/data.pkl` (a pickle of the saved object) plus one entry
// `<name>/data/<key>` per tensor storage. A small pickle virtual machine (protocols 0-5) rebuilds the object:
// dicts and OrderedDicts, lists, tuples, scalars, strings, torch._utils._rebuild_tensor_v2 /
// _rebuild_parameter / _rebuild_from_type_v2 and the persistent ids (BINPERSID) of typed storages. Other
// classes (argparse.Namespace, numpy scalars, ...) become opaque objects, so a checkpoint that carries
// training arguments or optimizer states still loads; only tensors are collected.
//
// Tensors reachable through nested dicts/lists are named by their path joined with '.':
// {"model": {"a.weight": T}} gives "model.a.weight", which find_prefix() helps to strip. Tensor data is read
// from the archive on demand (to_f32 / read_bytes), so a multi-GB checkpoint is never held in memory at once.
// Legacy (non-zip) files, TorchScript archives, truncated or corrupt files give a one-line glm::error.
//
// Thread-safety: a torch_checkpoint is not thread-safe (it reads through one libzip handle).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace glm {

enum class torch_dtype { f32, f64, f16, bf16, i64, i32, i16, i8, u8, boolean };

const char * torch_dtype_name(torch_dtype t);
size_t       torch_dtype_size(torch_dtype t);

struct torch_tensor {
    std::string          name;
    torch_dtype          dtype = torch_dtype::f32;
    std::vector<int64_t> shape;           // outermost first, as in PyTorch
    std::vector<int64_t> strides;         // in elements, as tensor.stride()
    int64_t              storage_offset = 0;  // in elements
    std::string          storage_key;     // the archive entry data/<key>
    int64_t              storage_numel = 0;   // elements of the storage as recorded in the pickle

    int64_t     numel() const;
    bool        is_contiguous() const;  // row-major with no gaps (strides of a contiguous tensor)
    std::string shape_str() const;      // "[3,4]"
};

class torch_checkpoint {
public:
    // Opens the archive and runs the pickle; throws glm::error naming the file on any problem.
    explicit torch_checkpoint(const std::string & path);
    ~torch_checkpoint();
    torch_checkpoint(const torch_checkpoint &)             = delete;
    torch_checkpoint & operator=(const torch_checkpoint &) = delete;

    const std::string & path() const { return path_; }

    // --- tensors, by flattened name
    bool                     has(const std::string & name) const;
    const torch_tensor &     get(const std::string & name) const;  // throws "file: no tensor 'name'"
    std::vector<std::string> names() const;                        // sorted
    size_t                   size() const { return tensors_.size(); }
    const std::map<std::string, torch_tensor> & tensors() const { return tensors_; }

    // The prefix p such that p + suffix names a tensor ("" when suffix itself is a name, "model." for
    // {"model": state_dict}, "module." for DataParallel); throws when no tensor name ends with suffix.
    std::string find_prefix(const std::string & suffix) const;

    // The tensor's elements in row-major order (strides and storage offset applied), converted to float32
    // from any floating or integer dtype.
    std::vector<float>   to_f32(const torch_tensor & t) const;
    std::vector<int64_t> to_i64(const torch_tensor & t) const;
    // The raw little-endian bytes of the tensor's elements in row-major order (its own dtype).
    std::vector<uint8_t> read_bytes(const torch_tensor & t) const;

    // Non-tensor leaves (ints, floats, bools, strings) reachable through the same dicts, as text:
    // {"epoch": 3} gives scalars()["epoch"] == "3".
    const std::map<std::string, std::string> & scalars() const { return scalars_; }

private:
    struct zip_handle;
    std::string                        path_;
    std::unique_ptr<zip_handle>        zip_;
    std::string                        prefix_;  // "<archive name>/"
    std::map<std::string, torch_tensor> tensors_;
    std::map<std::string, std::string>  scalars_;

    std::vector<uint8_t> read_entry(const std::string & name, size_t max_bytes = SIZE_MAX) const;
};

}  // namespace glm
