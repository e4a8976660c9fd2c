#include "head-set.h"

#include "common.h"

#include <algorithm>
#include <cctype>
#include <fstream>

namespace glm {

using json = nlohmann::json;

static const char * k_heads_format = "groundlmm.heads/1";

head_set::head_set(attn_heads k) : kind(k) {
    spec = k == attn_heads::all ? "all" : k == attn_heads::official ? "official" : k == attn_heads::dump ? "dump" : "";
}

std::vector<head_pair> head_set::resolve(int n_layer, int n_head) const {
    if (n_layer <= 0 || n_head <= 0) {
        fail("head set '%s': invalid model shape (%d layers, %d heads)", spec.c_str(), n_layer, n_head);
    }
    std::vector<head_pair> out;
    switch (kind) {
        case attn_heads::all:
        case attn_heads::dump:
            for (int l = 0; l < n_layer; ++l) {
                for (int h = 0; h < n_head; ++h) {
                    out.push_back({ l, h });
                }
            }
            return out;
        case attn_heads::official:
            for (int l = 0; l < n_layer; ++l) {
                out.push_back({ l, ((n_head - 2) % n_head + n_head) % n_head });
            }
            return out;
        case attn_heads::set:
            break;
    }
    if (pairs.empty()) {
        if (layer_first < 0 || layer_last < layer_first) {
            fail("head set '%s': no heads", spec.c_str());
        }
        if (layer_last >= n_layer) {
            fail("head set '%s': layer %d, but the model has %d layers (0..%d)", spec.c_str(), layer_last, n_layer,
                 n_layer - 1);
        }
        for (int l = layer_first; l <= layer_last; ++l) {
            for (int h = 0; h < n_head; ++h) {
                out.push_back({ l, h });
            }
        }
        return out;
    }
    if ((file_n_layer > 0 && file_n_layer != n_layer) || (file_n_head > 0 && file_n_head != n_head)) {
        fail("head-set file %s was made for a model of %d layers x %d heads (%s); this model has %d x %d", file.c_str(),
             file_n_layer, file_n_head, file_model.c_str(), n_layer, n_head);
    }
    for (const head_pair & p : pairs) {
        if (p.first >= n_layer || p.second >= n_head) {
            fail("head set '%s': head %d.%d, but the model has %d layers and %d heads per layer", spec.c_str(), p.first,
                 p.second, n_layer, n_head);
        }
    }
    return pairs;
}

std::string head_pairs_text(const std::vector<head_pair> & pairs) {
    std::string s;
    for (const head_pair & p : pairs) {
        s += strfmt("%s%d.%d", s.empty() ? "" : ",", p.first, p.second);
    }
    return s;
}

// A non-negative decimal integer, the whole text.
static bool parse_index(const std::string & s, int * out) {
    if (s.empty() || s.size() > 6) {
        return false;
    }
    for (char c : s) {
        if (!isdigit((unsigned char) c)) {
            return false;
        }
    }
    *out = std::stoi(s);
    return true;
}

static std::vector<head_pair> sorted_unique(std::vector<head_pair> v) {
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
    return v;
}

static void read_heads_file(head_set & hs) {
    json j;
    {
        std::ifstream f(hs.file);
        if (!f) {
            fail("head-set file %s: cannot open", hs.file.c_str());
        }
        try {
            j = json::parse(f);
        } catch (const json::exception & e) {
            fail("head-set file %s: not valid JSON (%s)", hs.file.c_str(), e.what());
        }
    }
    try {
        const std::string fmt = j.at("format").get<std::string>();
        if (fmt != k_heads_format) {
            fail("head-set file %s: format '%s', expected '%s'", hs.file.c_str(), fmt.c_str(), k_heads_format);
        }
        hs.file_model = j.value("model", std::string());
        const int L = j.value("n_layer", -1), H = j.value("n_head", -1);
        hs.file_n_layer = L;
        hs.file_n_head  = H;
        for (const json & p : j.at("heads")) {
            if (!p.is_array() || p.size() != 2 || !p[0].is_number_integer() || !p[1].is_number_integer() ||
                p[0].get<int>() < 0 || p[1].get<int>() < 0) {
                fail("head-set file %s: \"heads\" entries must be [layer, head] pairs of non-negative integers, got %s",
                     hs.file.c_str(), p.dump().c_str());
            }
            if ((L > 0 && p[0].get<int>() >= L) || (H > 0 && p[1].get<int>() >= H)) {
                fail("head-set file %s: head %s outside the file's own shape (%d layers, %d heads)", hs.file.c_str(),
                     p.dump().c_str(), L, H);
            }
            hs.pairs.push_back({ p[0].get<int>(), p[1].get<int>() });
        }
    } catch (const json::exception & e) {
        fail("head-set file %s: missing or malformed field (%s)", hs.file.c_str(), e.what());
    }
    if (hs.pairs.empty()) {
        fail("head-set file %s: \"heads\" is empty", hs.file.c_str());
    }
    hs.pairs = sorted_unique(hs.pairs);
}

head_set head_set_parse(const std::string & text, bool read_file) {
    static const char * k_expected =
        "all, official, dump, layers:A-B, a list of layer.head pairs (e.g. 1.0,1.2) or a head-set file (.json)";
    if (text == "all" || text == "mean") {
        return head_set(attn_heads::all);
    }
    if (text == "official") {
        return head_set(attn_heads::official);
    }
    if (text == "dump") {
        return head_set(attn_heads::dump);
    }
    head_set hs;
    hs.kind = attn_heads::set;
    const bool is_file = text.rfind("file:", 0) == 0 ||
                         (text.size() > 5 && text.compare(text.size() - 5, 5, ".json") == 0);
    if (is_file) {
        hs.file = text.rfind("file:", 0) == 0 ? text.substr(5) : text;
        if (hs.file.empty()) {
            fail("expected %s, got '%s' (no file name)", k_expected, text.c_str());
        }
        hs.spec = hs.file;
        if (read_file) {
            read_heads_file(hs);
        }
        return hs;
    }
    if (text.rfind("layers:", 0) == 0) {
        const std::string r    = text.substr(7);
        const size_t      dash = r.find('-');
        int               a = -1, b = -1;
        const bool ok = dash == std::string::npos ? parse_index(r, &a) && (b = a) >= 0
                                                  : parse_index(r.substr(0, dash), &a) && parse_index(r.substr(dash + 1), &b);
        if (!ok || b < a) {
            fail("expected %s, got '%s' (a layer range is layers:A-B with 0 <= A <= B)", k_expected, text.c_str());
        }
        hs.layer_first = a;
        hs.layer_last  = b;
        hs.spec        = a == b ? strfmt("layers:%d", a) : strfmt("layers:%d-%d", a, b);
        return hs;
    }
    // a list of layer.head pairs
    size_t pos = 0;
    while (pos <= text.size()) {
        const size_t      comma = std::min(text.find(',', pos), text.size());
        const std::string item  = text.substr(pos, comma - pos);
        const size_t      dot   = item.find('.');
        int               l = -1, h = -1;
        if (dot == std::string::npos || !parse_index(item.substr(0, dot), &l) || !parse_index(item.substr(dot + 1), &h)) {
            fail("expected %s, got '%s'", k_expected, text.c_str());
        }
        hs.pairs.push_back({ l, h });
        pos = comma + 1;
    }
    hs.pairs = sorted_unique(hs.pairs);
    hs.spec  = head_pairs_text(hs.pairs);
    return hs;
}

json head_set_file_json(const std::string & model, int n_layer, int n_head, const std::vector<head_pair> & heads,
                        const json & criteria, const json & counts) {
    json h = json::array();
    for (const head_pair & p : heads) {
        h.push_back({ p.first, p.second });
    }
    return { { "format", k_heads_format }, { "model", model }, { "n_layer", n_layer }, { "n_head", n_head },
             { "heads", h }, { "criteria", criteria }, { "counts", counts } };
}

}  // namespace glm
