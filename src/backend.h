// backend.h: where our own ggml graphs (vision encoders, SAM, SD) run.
//
// A compute_backend owns the ggml backends (the best GPU when built with one and asked for, and the CPU,
// which is always there for ops a GPU backend lacks) and a scheduler that splits graphs between them.
// One compute_backend serves one thread at a time: it is per-request state, not part of a model.
#pragma once

#include "ggml-backend.h"
#include "ggml.h"

#include <functional>
#include <string>
#include <vector>

namespace glm {

struct backend_params {
    int  n_threads = 0;      // CPU threads; 0 = all hardware threads
    bool use_gpu   = true;   // use a GPU backend when the build has one and a device exists
    int  gpu_index = 0;      // which GPU device among those found
};

class compute_backend {
public:
    explicit compute_backend(const backend_params & params = {});
    ~compute_backend();
    compute_backend(const compute_backend &)             = delete;
    compute_backend & operator=(const compute_backend &) = delete;

    // The backend that holds weights and runs graphs: the GPU if one is used, else the CPU.
    ggml_backend_t primary() const { return backends_.front(); }
    bool           is_gpu() const { return backends_.size() > 1; }
    std::string    name() const;
    int            n_threads() const { return n_threads_; }

    // Allocates the graph's intermediate tensors, lets set_inputs fill the inputs (tensors flagged with
    // ggml_set_input), computes. Outputs (flagged with ggml_set_output) are valid until the next run.
    void run(ggml_cgraph * gf, const std::function<void()> & set_inputs);

private:
    std::vector<ggml_backend_t> backends_;  // primary first, CPU last
    ggml_backend_sched_t        sched_ = nullptr;
    int                         n_threads_ = 1;
};

// A ggml context for building one graph: tensor metadata only (no_alloc), freed at scope exit.
class graph_ctx {
public:
    explicit graph_ctx(size_t max_nodes = 16384);
    ~graph_ctx();
    graph_ctx(const graph_ctx &)             = delete;
    graph_ctx & operator=(const graph_ctx &) = delete;

    ggml_context * ctx() const { return ctx_; }
    ggml_cgraph *  new_graph();

private:
    ggml_context * ctx_ = nullptr;
    size_t         max_nodes_;
};

// Copies an output tensor (any float type, contiguous or not) to host float32, in ggml element order.
std::vector<float> tensor_to_f32(const ggml_tensor * t);

// Names a tensor like llama.cpp's cb(): "name" or "name-<il>" for per-layer tensors.
ggml_tensor * tname(ggml_tensor * t, const char * name, int il = -1);

}  // namespace glm
