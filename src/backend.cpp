#include "backend.h"

#include "common.h"

#include "ggml-alloc.h"
#include "ggml-cpu.h"

#include <thread>

namespace glm {

compute_backend::compute_backend(const backend_params & params) {
    n_threads_ = params.n_threads > 0 ? params.n_threads : (int) std::max(1u, std::thread::hardware_concurrency());
    if (params.use_gpu) {
        int seen = 0;
        for (size_t i = 0; i < ggml_backend_dev_count(); ++i) {
            ggml_backend_dev_t dev = ggml_backend_dev_get(i);
            if (ggml_backend_dev_type(dev) != GGML_BACKEND_DEVICE_TYPE_GPU) {
                continue;
            }
            if (seen++ == params.gpu_index) {
                ggml_backend_t b = ggml_backend_dev_init(dev, nullptr);
                if (!b) {
                    fail("cannot initialise GPU device %s", ggml_backend_dev_name(dev));
                }
                backends_.push_back(b);
                break;
            }
        }
    }
    ggml_backend_t cpu = ggml_backend_cpu_init();
    if (!cpu) {
        fail("cannot initialise the CPU backend");
    }
    ggml_backend_cpu_set_n_threads(cpu, n_threads_);
    backends_.push_back(cpu);
    sched_ = ggml_backend_sched_new(backends_.data(), nullptr, (int) backends_.size(), 65536, false, false);
    if (!sched_) {
        fail("cannot create the ggml scheduler");
    }
}

compute_backend::~compute_backend() {
    if (sched_) {
        ggml_backend_sched_free(sched_);
    }
    for (ggml_backend_t b : backends_) {
        ggml_backend_free(b);
    }
}

std::string compute_backend::name() const { return ggml_backend_name(primary()); }

void compute_backend::run(ggml_cgraph * gf, const std::function<void()> & set_inputs) {
    ggml_backend_sched_reset(sched_);
    if (!ggml_backend_sched_alloc_graph(sched_, gf)) {
        fail("cannot allocate the compute graph on %s (out of memory?)", name().c_str());
    }
    if (set_inputs) {
        set_inputs();
    }
    const ggml_status st = ggml_backend_sched_graph_compute(sched_, gf);
    if (st != GGML_STATUS_SUCCESS) {
        fail("graph compute failed on %s (status %d)", name().c_str(), (int) st);
    }
}

graph_ctx::graph_ctx(size_t max_nodes) : max_nodes_(max_nodes) {
    ggml_init_params p = {
        /*.mem_size   =*/ggml_tensor_overhead() * max_nodes + ggml_graph_overhead_custom(max_nodes, false),
        /*.mem_buffer =*/nullptr,
        /*.no_alloc   =*/true,
    };
    ctx_ = ggml_init(p);
    if (!ctx_) {
        fail("cannot create a ggml context");
    }
}

graph_ctx::~graph_ctx() { ggml_free(ctx_); }

ggml_cgraph * graph_ctx::new_graph() { return ggml_new_graph_custom(ctx_, max_nodes_, false); }

std::vector<float> tensor_to_f32(const ggml_tensor * t) {
    const int64_t n = ggml_nelements(t);
    std::vector<float> out((size_t) n);
    if (t->type == GGML_TYPE_F32 && ggml_is_contiguous(t)) {
        ggml_backend_tensor_get(t, out.data(), 0, n * sizeof(float));
        return out;
    }
    std::vector<uint8_t> raw(ggml_nbytes(t));
    ggml_backend_tensor_get(t, raw.data(), 0, raw.size());
    if (!ggml_is_contiguous(t) || (t->type != GGML_TYPE_F16 && t->type != GGML_TYPE_F32)) {
        fail("tensor_to_f32: unsupported layout/type for '%s'", t->name);
    }
    const ggml_fp16_t * h = (const ggml_fp16_t *) raw.data();
    for (int64_t i = 0; i < n; ++i) {
        out[i] = ggml_fp16_to_fp32(h[i]);
    }
    return out;
}

ggml_tensor * tname(ggml_tensor * t, const char * name, int il) {
    if (il >= 0) {
        ggml_format_name(t, "%s-%d", name, il);
    } else {
        ggml_set_name(t, name);
    }
    return t;
}

}  // namespace glm
