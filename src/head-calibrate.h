// head-calibrate.h: label-free selection of localization heads, after Kang et al. (CVPR 2025, "Your Large
// Vision-Language Model Only Needs A Few Attention Heads For Visual Grounding", arXiv 2503.06287; summary in
// the shared specs, vlms-heads-sinks.md §2.1). No ground-truth mask or box is read: a sample is one query of the
// model's own run (here: the rows of one noun phrase's head-noun tokens, the rows stage 2 points from) with every
// layer's and head's attention to the image.
//
// Per sample and head (layers below skip_layers excluded; Kang skips the first two):
//   mass     S_img = the head's attention summed over all image tokens (mean over the sample's rows);
//   entropy  the primary grid's map a: A = ReLU(a - mean(a)), 8-connected components C_n of A > 0,
//            P(C_n) = |C_n| / sum |C|, H = -sum P ln P (lower = more focused; no component = +inf).
// Criterion 1: the heads' masses averaged over the samples, sorted; the threshold tau sits at the elbow of that
//   curve (Kang: "maximum curvature"; here the Kneedle point: the sorted value farthest below the chord from the
//   largest to the smallest mass); heads with mean mass >= tau pass.
// Criterion 2: per sample, the per_sample passing heads of lowest entropy (ties: larger mass first) get one count.
// The k most counted heads are the set (ties: larger mean mass first).
// What we could not verify against the authors' code: the exact curvature computation, whether P(C_n) weights
// components by size (as above, per the summary) or by attention mass, and the fork's extra sink filter
// (rejecting heads with attention > 0.05 on the bottom patch row), which is not applied here.
//
// Thread safety: a head_calibrator is a plain accumulator, one thread at a time.
#pragma once

#include "attend.h"
#include "head-set.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <vector>

namespace glm {

struct head_calib_params {
    int skip_layers = 2;   // layers 0..skip_layers-1 are never chosen (Kang: 2)
    int per_sample  = 10;  // lowest-entropy passing heads counted per sample (Kang: 10)
    int k           = 3;   // heads kept (Kang: 3)
};

struct head_calib_result {
    int                    n_layer = 0, n_head = 0;
    int64_t                n_samples = 0;
    double                 tau = 0;             // the mass threshold at the elbow
    std::vector<double>    mean_mass;           // n_layer x n_head (NaN for skipped layers)
    std::vector<double>    mean_entropy;        // n_layer x n_head, over samples where finite (NaN: never finite)
    std::vector<int64_t>   counts;              // n_layer x n_head: samples that counted the head
    std::vector<head_pair> heads;               // the k chosen, most counted first
    nlohmann::json criteria(const head_calib_params & p) const;  // how they were chosen (for the head-set file)
    nlohmann::json counts_json() const;  // [{layer, head, count, frequency, mean_mass, mean_entropy, passes_tau}]
};

// The spatial entropy of a map (rows x cols) as defined above; +inf when no cell is above the mean.
double spatial_entropy(const float * map, int rows, int cols);

// The elbow of values sorted in descending order: the index of the Kneedle point (0 for fewer than 3 values).
int elbow_index(const std::vector<double> & sorted_desc);

class head_calibrator {
public:
    head_calibrator(int n_layer, int n_head, const head_calib_params & params);

    // One sample: the query rows `rows` of a stage-1 result that kept every layer and head (attn_heads dump).
    void add(const attend_result & r, const std::vector<int> & rows);
    int64_t n_samples() const { return n_samples_; }

    head_calib_result finish() const;

private:
    int                 n_layer_, n_head_;
    head_calib_params   p_;
    int64_t             n_samples_ = 0;
    std::vector<float>  mass_, entropy_;  // per sample: n_layer x n_head each
};

}  // namespace glm
