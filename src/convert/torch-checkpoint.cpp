#include "torch-checkpoint.h"

#include "common.h"

#include "ggml.h"  // ggml_fp16_to_fp32

#include <zip.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <set>
#include <unordered_map>

namespace glm {

// ------------------------------------------------------------------------------------------------- dtypes

static const struct {
    torch_dtype t;
    const char *name;
    const char *storage;  // the typed storage class (torch.<storage>)
    size_t      size;
} k_torch_dtypes[] = {
    { torch_dtype::f32, "float32", "FloatStorage", 4 },     { torch_dtype::f64, "float64", "DoubleStorage", 8 },
    { torch_dtype::f16, "float16", "HalfStorage", 2 },      { torch_dtype::bf16, "bfloat16", "BFloat16Storage", 2 },
    { torch_dtype::i64, "int64", "LongStorage", 8 },        { torch_dtype::i32, "int32", "IntStorage", 4 },
    { torch_dtype::i16, "int16", "ShortStorage", 2 },       { torch_dtype::i8, "int8", "CharStorage", 1 },
    { torch_dtype::u8, "uint8", "ByteStorage", 1 },         { torch_dtype::boolean, "bool", "BoolStorage", 1 },
};

const char * torch_dtype_name(torch_dtype t) {
    for (const auto & d : k_torch_dtypes) {
        if (d.t == t) {
            return d.name;
        }
    }
    return "?";
}

size_t torch_dtype_size(torch_dtype t) {
    for (const auto & d : k_torch_dtypes) {
        if (d.t == t) {
            return d.size;
        }
    }
    return 0;
}

int64_t torch_tensor::numel() const {
    int64_t n = 1;
    for (int64_t d : shape) {
        n *= d;
    }
    return n;
}

bool torch_tensor::is_contiguous() const {
    int64_t expect = 1;
    for (size_t i = shape.size(); i-- > 0;) {
        if (shape[i] != 1 && strides[i] != expect) {
            return false;
        }
        expect *= shape[i];
    }
    return true;
}

std::string torch_tensor::shape_str() const {
    std::string s = "[";
    for (size_t i = 0; i < shape.size(); ++i) {
        s += (i ? "," : "") + std::to_string(shape[i]);
    }
    return s + "]";
}

// ------------------------------------------------------------------------------------------------- pickle VM

namespace {

struct pk_obj;
using pk = std::shared_ptr<pk_obj>;

// One value on the pickle stack. Containers share their children (pickle memo references).
struct pk_obj {
    enum kind_t { none, boolean, integer, real, string, bytes, tuple, list, dict, set, global, object, storage, tensor_v };
    kind_t kind = none;

    int64_t     i = 0;     // boolean, integer
    double      f = 0.0;   // real (also big integers, approximately)
    std::string s;         // string, bytes, global ("module.name"), object (its class)

    std::vector<pk>                 items;    // tuple, list, set
    std::vector<std::pair<pk, pk>>  entries;  // dict, object (dict-like items set on it)
    pk                              state;    // object: BUILD state
    pk                              args;     // object: constructor arguments

    torch_tensor tensor;  // storage (dtype, key, numel) and tensor_v

    ~pk_obj();
};

// Tears a value down iteratively: a deeply nested (corrupt or hostile) pickle must not overflow the stack.
pk_obj::~pk_obj() {
    std::vector<pk> todo;
    auto            detach = [&todo](pk_obj & o) {
        for (pk & c : o.items) {
            todo.push_back(std::move(c));
        }
        for (auto & e : o.entries) {
            todo.push_back(std::move(e.first));
            todo.push_back(std::move(e.second));
        }
        o.items.clear();
        o.entries.clear();
        if (o.state) {
            todo.push_back(std::move(o.state));
        }
        if (o.args) {
            todo.push_back(std::move(o.args));
        }
    };
    detach(*this);
    while (!todo.empty()) {
        pk p = std::move(todo.back());
        todo.pop_back();
        if (p && p.use_count() == 1) {
            detach(*p);  // p is destroyed childless at the end of this iteration
        }
    }
}

pk make(pk_obj::kind_t k) {
    auto p  = std::make_shared<pk_obj>();
    p->kind = k;
    return p;
}

pk make_int(int64_t v) {
    pk p = make(pk_obj::integer);
    p->i = v;
    return p;
}

pk make_str(pk_obj::kind_t k, std::string s) {
    pk p = make(k);
    p->s = std::move(s);
    return p;
}

const char * kind_name(pk_obj::kind_t k) {
    static const char * names[] = { "None", "bool", "int", "float", "str", "bytes", "tuple", "list",
                                    "dict", "set", "global", "object", "storage", "tensor" };
    return names[k];
}

class unpickler {
public:
    unpickler(const std::string & what, const uint8_t * data, size_t size) : what_(what), p_(data), end_(data + size) {}

    pk run() {
        while (true) {
            const uint8_t op = u8();
            switch (op) {
                case 0x80: u8(); break;                              // PROTO
                case 0x95: take(8); break;                           // FRAME (length ignored: data is in memory)
                case '.': {                                          // STOP
                    pk r = pop();
                    return r;
                }
                case '(': meta_.push_back(std::move(stack_)); stack_.clear(); break;  // MARK
                case ')': push(make(pk_obj::tuple)); break;          // EMPTY_TUPLE
                case 't': { pk t = make(pk_obj::tuple); t->items = pop_mark(); push(t); } break;  // TUPLE
                case 0x85: case 0x86: case 0x87: {                   // TUPLE1..3
                    const size_t n = op - 0x84;
                    need(n);
                    pk t = make(pk_obj::tuple);
                    t->items.assign(stack_.end() - n, stack_.end());
                    stack_.resize(stack_.size() - n);
                    push(t);
                } break;
                case ']': push(make(pk_obj::list)); break;           // EMPTY_LIST
                case 'l': { pk t = make(pk_obj::list); t->items = pop_mark(); push(t); } break;  // LIST
                case 'a': { pk v = pop(); append(top(), { v }); } break;                          // APPEND
                case 'e': { auto v = pop_mark(); append(top(), v); } break;                       // APPENDS
                case '}': push(make(pk_obj::dict)); break;           // EMPTY_DICT
                case 'd': {                                          // DICT
                    auto v = pop_mark();
                    pk   d = make(pk_obj::dict);
                    set_items(d, v);
                    push(d);
                } break;
                case 's': {                                          // SETITEM
                    pk v = pop();
                    pk k = pop();
                    set_items(top(), { k, v });
                } break;
                case 'u': { auto v = pop_mark(); set_items(top(), v); } break;  // SETITEMS
                case 0x8f: push(make(pk_obj::set)); break;           // EMPTY_SET
                case 0x90: { auto v = pop_mark(); append(top(), v); } break;  // ADDITEMS
                case 0x91: { pk t = make(pk_obj::set); t->items = pop_mark(); push(t); } break;  // FROZENSET
                case 'N': push(make(pk_obj::none)); break;
                case 0x88: case 0x89: {                              // NEWTRUE, NEWFALSE
                    pk b = make(pk_obj::boolean);
                    b->i = op == 0x88;
                    push(b);
                } break;
                case 'J': push(make_int((int32_t) le(4))); break;    // BININT
                case 'K': push(make_int((int64_t) le(1))); break;    // BININT1
                case 'M': push(make_int((int64_t) le(2))); break;    // BININT2
                case 0x8a: push(make_long(le(1))); break;            // LONG1
                case 0x8b: push(make_long(le(4))); break;            // LONG4
                case 'I': push(parse_int_line(line())); break;       // INT (protocol 0; also True/False)
                case 'L': {                                          // LONG (protocol 0)
                    std::string s = line();
                    if (!s.empty() && s.back() == 'L') {
                        s.pop_back();
                    }
                    push(parse_int_line(s));
                } break;
                case 'G': {                                          // BINFLOAT (big-endian double)
                    const uint8_t * b = take(8);
                    uint64_t        u = 0;
                    for (int k = 0; k < 8; ++k) {
                        u = (u << 8) | b[k];
                    }
                    pk r = make(pk_obj::real);
                    memcpy(&r->f, &u, 8);
                    push(r);
                } break;
                case 'F': {                                          // FLOAT (protocol 0)
                    pk r = make(pk_obj::real);
                    r->f = strtod(line().c_str(), nullptr);
                    push(r);
                } break;
                case 'X': push(make_str(pk_obj::string, str(le(4)))); break;     // BINUNICODE
                case 0x8c: push(make_str(pk_obj::string, str(le(1)))); break;    // SHORT_BINUNICODE
                case 0x8d: push(make_str(pk_obj::string, str(le(8)))); break;    // BINUNICODE8
                case 'T': push(make_str(pk_obj::string, str(le(4)))); break;     // BINSTRING
                case 'U': push(make_str(pk_obj::string, str(le(1)))); break;     // SHORT_BINSTRING
                case 'B': push(make_str(pk_obj::bytes, str(le(4)))); break;      // BINBYTES
                case 'C': push(make_str(pk_obj::bytes, str(le(1)))); break;      // SHORT_BINBYTES
                case 0x8e: case 0x96: push(make_str(pk_obj::bytes, str(le(8)))); break;  // BINBYTES8, BYTEARRAY8
                case 'V': push(make_str(pk_obj::string, line())); break;         // UNICODE (raw-unicode-escape, ASCII here)
                case 'S': {                                                      // STRING (quoted repr)
                    std::string s = line();
                    if (s.size() >= 2 && (s[0] == '\'' || s[0] == '"')) {
                        s = s.substr(1, s.size() - 2);
                    }
                    push(make_str(pk_obj::string, s));
                } break;
                case 'q': memo_put(le(1)); break;                    // BINPUT
                case 'r': memo_put(le(4)); break;                    // LONG_BINPUT
                case 'p': memo_put(std::stoull(digits(line()))); break;  // PUT
                case 0x94: memo_put(memo_.size()); break;            // MEMOIZE
                case 'h': push(memo_get(le(1))); break;              // BINGET
                case 'j': push(memo_get(le(4))); break;              // LONG_BINGET
                case 'g': push(memo_get(std::stoull(digits(line())))); break;  // GET
                case '0': pop(); break;                              // POP
                case '1': pop_mark(); break;                         // POP_MARK
                case '2': push(top()); break;                        // DUP
                case 'c': {                                          // GLOBAL
                    std::string mod  = line();
                    std::string name = line();
                    push(make_str(pk_obj::global, mod + "." + name));
                } break;
                case 0x93: {                                         // STACK_GLOBAL
                    pk name = pop();
                    pk mod  = pop();
                    if (mod->kind != pk_obj::string || name->kind != pk_obj::string) {
                        bad("STACK_GLOBAL expects two strings");
                    }
                    push(make_str(pk_obj::global, mod->s + "." + name->s));
                } break;
                case 'R': {                                          // REDUCE
                    pk args = pop();
                    pk fn   = pop();
                    push(call(fn, args));
                } break;
                case 0x81: {                                         // NEWOBJ
                    pk args = pop();
                    pk cls  = pop();
                    push(call(cls, args));
                } break;
                case 0x92: {                                         // NEWOBJ_EX
                    pop();  // kwargs
                    pk args = pop();
                    pk cls  = pop();
                    push(call(cls, args));
                } break;
                case 'b': {                                          // BUILD
                    pk state = pop();
                    pk obj   = top();
                    if (obj->kind == pk_obj::object) {
                        obj->state = state;
                    }
                    // dicts (OrderedDict._metadata of state_dicts) and tensors: the state carries nothing we use
                } break;
                case 'Q': push(persistent_load(pop())); break;      // BINPERSID
                case 'P': bad("PERSID (protocol 0 persistent ids) is not used by torch.save");
                case 0x82: case 0x83: case 0x84: bad("EXT opcodes (copyreg extension registry) are not supported");
                case 'i': case 'o': bad("INST/OBJ opcodes (protocol 0 classes) are not supported");
                case 0x97: bad("out-of-band buffers (NEXT_BUFFER) are not supported");
                case 0x98: break;                                    // READONLY_BUFFER
                default: bad(strfmt("unknown opcode 0x%02x", op));
            }
        }
    }

private:
    std::string                   what_;
    const uint8_t *               p_;
    const uint8_t *               end_;
    std::vector<pk>               stack_;
    std::vector<std::vector<pk>>  meta_;
    std::unordered_map<uint64_t, pk> memo_;

    [[noreturn]] void bad(const std::string & msg) const { fail("%s: corrupt pickle: %s", what_.c_str(), msg.c_str()); }

    const uint8_t * take(size_t n) {
        if ((size_t) (end_ - p_) < n) {
            fail("%s: truncated pickle data (needed %zu more bytes)", what_.c_str(), n);
        }
        const uint8_t * r = p_;
        p_ += n;
        return r;
    }

    uint8_t  u8() { return *take(1); }
    uint64_t le(int n) {
        const uint8_t * b = take(n);
        uint64_t        v = 0;
        for (int k = n - 1; k >= 0; --k) {
            v = (v << 8) | b[k];
        }
        return v;
    }

    std::string str(uint64_t n) {
        if (n > (uint64_t) (end_ - p_)) {
            fail("%s: truncated pickle data (a string of %llu bytes)", what_.c_str(), (unsigned long long) n);
        }
        const uint8_t * b = take(n);
        return std::string((const char *) b, n);
    }

    std::string line() {
        const uint8_t * nl = (const uint8_t *) memchr(p_, '\n', end_ - p_);
        if (!nl) {
            fail("%s: truncated pickle data (unterminated line)", what_.c_str());
        }
        std::string s((const char *) p_, nl - p_);
        p_ = nl + 1;
        return s;
    }

    std::string digits(const std::string & s) const {
        if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos) {
            bad("bad memo index '" + s + "'");
        }
        return s;
    }

    pk parse_int_line(const std::string & s) {
        if (s == "01" || s == "00") {  // protocol 0 True/False
            pk b = make(pk_obj::boolean);
            b->i = s == "01";
            return b;
        }
        errno      = 0;
        char * end = nullptr;
        long long v = strtoll(s.c_str(), &end, 10);
        if (end == s.c_str()) {
            bad("bad integer '" + s + "'");
        }
        if (errno == ERANGE) {
            pk r = make(pk_obj::real);
            r->f = strtod(s.c_str(), nullptr);
            return r;
        }
        return make_int(v);
    }

    // LONG1/LONG4: little-endian two's complement of n bytes
    pk make_long(uint64_t n) {
        if (n > (uint64_t) (end_ - p_)) {
            fail("%s: truncated pickle data (a long of %llu bytes)", what_.c_str(), (unsigned long long) n);
        }
        const uint8_t * b = take(n);
        if (n == 0) {
            return make_int(0);
        }
        if (n <= 8) {
            uint64_t v = 0;
            for (size_t k = n; k-- > 0;) {
                v = (v << 8) | b[k];
            }
            if (n < 8 && (b[n - 1] & 0x80)) {
                v |= ~0ull << (8 * n);  // sign-extend
            }
            return make_int((int64_t) v);
        }
        // wider than 64 bits (seeds, hashes): keep an approximation, never used as a size
        double v = 0.0;
        for (size_t k = n; k-- > 0;) {
            v = v * 256.0 + b[k];
        }
        if (b[n - 1] & 0x80) {
            v -= std::ldexp(1.0, (int) (8 * n));
        }
        pk r = make(pk_obj::real);
        r->f = v;
        return r;
    }

    void push(pk v) { stack_.push_back(std::move(v)); }

    void need(size_t n) const {
        if (stack_.size() < n) {
            bad("stack underflow");
        }
    }

    pk pop() {
        need(1);
        pk v = std::move(stack_.back());
        stack_.pop_back();
        return v;
    }

    const pk & top() const {
        need(1);
        return stack_.back();
    }

    std::vector<pk> pop_mark() {
        if (meta_.empty()) {
            bad("MARK expected");
        }
        std::vector<pk> items = std::move(stack_);
        stack_                = std::move(meta_.back());
        meta_.pop_back();
        return items;
    }

    void memo_put(uint64_t idx) { memo_[idx] = top(); }

    pk memo_get(uint64_t idx) const {
        auto it = memo_.find(idx);
        if (it == memo_.end()) {
            bad(strfmt("memo key %llu missing", (unsigned long long) idx));
        }
        return it->second;
    }

    void append(const pk & target, const std::vector<pk> & v) {
        if (target->kind != pk_obj::list && target->kind != pk_obj::set && target->kind != pk_obj::object) {
            bad(std::string("APPEND to a ") + kind_name(target->kind));
        }
        target->items.insert(target->items.end(), v.begin(), v.end());
    }

    void set_items(const pk & target, const std::vector<pk> & kv) {
        if (kv.size() % 2 != 0) {
            bad("odd number of items for a dict");
        }
        if (target->kind != pk_obj::dict && target->kind != pk_obj::object) {
            bad(std::string("SETITEM on a ") + kind_name(target->kind));
        }
        for (size_t k = 0; k < kv.size(); k += 2) {
            target->entries.emplace_back(kv[k], kv[k + 1]);
        }
    }

    const pk & arg(const pk & args, size_t k, const std::string & fn) const {
        if (args->kind != pk_obj::tuple || args->items.size() <= k) {
            bad(fn + ": missing argument " + std::to_string(k));
        }
        return args->items[k];
    }

    static bool is_seq(const pk & v) { return v->kind == pk_obj::tuple || v->kind == pk_obj::list; }

    std::vector<int64_t> int_seq(const pk & v, const std::string & fn) const {
        if (!is_seq(v)) {
            bad(fn + ": expected a tuple of ints, got " + kind_name(v->kind));
        }
        std::vector<int64_t> out;
        for (const pk & x : v->items) {
            if (x->kind != pk_obj::integer || x->i < 0) {
                bad(fn + ": expected non-negative ints");
            }
            out.push_back(x->i);
        }
        return out;
    }

    pk rebuild_tensor(const pk & args, const std::string & fn) {
        const pk & st = arg(args, 0, fn);
        if (st->kind != pk_obj::storage) {
            bad(fn + ": first argument is a " + kind_name(st->kind) + ", not a storage");
        }
        const pk & off = arg(args, 1, fn);
        if (off->kind != pk_obj::integer || off->i < 0) {
            bad(fn + ": bad storage offset");
        }
        pk t                    = make(pk_obj::tensor_v);
        t->tensor               = st->tensor;  // dtype, storage key and numel
        t->tensor.storage_offset = off->i;
        t->tensor.shape         = int_seq(arg(args, 2, fn), fn);
        t->tensor.strides       = int_seq(arg(args, 3, fn), fn);
        if (t->tensor.shape.size() != t->tensor.strides.size()) {
            bad(fn + ": shape and stride have different lengths");
        }
        double n = 1.0;  // guard the size arithmetic against absurd values
        for (size_t d = 0; d < t->tensor.shape.size(); ++d) {
            if (t->tensor.shape[d] > (int64_t(1) << 40) || t->tensor.strides[d] > (int64_t(1) << 40)) {
                bad(fn + ": absurd tensor size or stride");
            }
            n *= (double) t->tensor.shape[d];
        }
        if (n > 1e15) {
            bad(fn + ": absurd tensor size");
        }
        return t;
    }

    // The callables torch.save pickles; anything else becomes an opaque object (its class and arguments).
    pk call(const pk & fn, const pk & args, int depth = 0) {
        if (depth > 8) {
            bad("nested tensor rebuild calls");
        }
        if (fn->kind != pk_obj::global) {
            // calling an object: keep it opaque
            pk o = make_str(pk_obj::object, "<call>");
            o->args = args;
            return o;
        }
        const std::string & name = fn->s;
        if (name == "collections.OrderedDict" || name == "builtins.dict" || name == "__builtin__.dict") {
            pk d = make(pk_obj::dict);
            if (args->kind == pk_obj::tuple && !args->items.empty() && is_seq(args->items[0])) {
                for (const pk & kv : args->items[0]->items) {  // OrderedDict([(k, v), ...])
                    if (is_seq(kv) && kv->items.size() == 2) {
                        d->entries.emplace_back(kv->items[0], kv->items[1]);
                    }
                }
            }
            return d;
        }
        if (name == "torch._utils._rebuild_tensor_v2" || name == "torch._utils._rebuild_tensor") {
            return rebuild_tensor(args, name);
        }
        if (name == "torch._utils._rebuild_parameter" || name == "torch._utils._rebuild_parameter_with_state" ||
            name == "torch.nn.parameter.Parameter" || name == "torch.Size" || name == "builtins.tuple" ||
            name == "__builtin__.tuple" || name == "builtins.list" || name == "__builtin__.list") {
            const pk & a = arg(args, 0, name);
            if (name.find("tuple") != std::string::npos || name.find("list") != std::string::npos ||
                name == "torch.Size") {
                pk t   = make(name.find("list") != std::string::npos ? pk_obj::list : pk_obj::tuple);
                if (is_seq(a) || a->kind == pk_obj::set) {
                    t->items = a->items;
                }
                return t;
            }
            return a;
        }
        if (name == "torch._tensor._rebuild_from_type_v2" || name == "torch._tensor._rebuild_from_type") {
            // (func, new_type, args, state): the tensor is func(*args)
            return call(arg(args, 0, name), arg(args, 2, name), depth + 1);
        }
        if (name == "builtins.set" || name == "builtins.frozenset" || name == "__builtin__.set" ||
            name == "__builtin__.frozenset") {
            pk s = make(pk_obj::set);
            if (args->kind == pk_obj::tuple && !args->items.empty() &&
                (is_seq(args->items[0]) || args->items[0]->kind == pk_obj::set)) {
                s->items = args->items[0]->items;
            }
            return s;
        }
        if (name == "_codecs.encode" || name == "builtins.bytearray" || name == "builtins.bytes" ||
            name == "__builtin__.bytearray") {
            pk b = make(pk_obj::bytes);
            if (args->kind == pk_obj::tuple && !args->items.empty() &&
                (args->items[0]->kind == pk_obj::string || args->items[0]->kind == pk_obj::bytes)) {
                b->s = args->items[0]->s;  // latin1 text of protocol-2 bytes: kept as is (not decoded)
            }
            return b;
        }
        if (name.rfind("torch._utils._rebuild_", 0) == 0) {
            GLM_LOG_WARN("%s: %s (quantized, sparse or subclass tensor) is not supported; skipped", what_.c_str(),
                         name.c_str());
        }
        pk o    = make_str(pk_obj::object, name);
        o->args = args;
        return o;
    }

    // ('storage', storage_type, key, location, numel) -> a storage of that dtype
    pk persistent_load(const pk & pid) {
        if (pid->kind != pk_obj::tuple || pid->items.size() < 5 || pid->items[0]->kind != pk_obj::string ||
            pid->items[0]->s != "storage") {
            bad("unexpected persistent id (not a torch storage)");
        }
        const pk & type  = pid->items[1];
        const pk & key   = pid->items[2];
        const pk & numel = pid->items[4];
        if (type->kind != pk_obj::global || key->kind != pk_obj::string || numel->kind != pk_obj::integer ||
            numel->i < 0) {
            bad("malformed storage persistent id");
        }
        std::string cls = type->s;
        for (const char * pre : { "torch.cuda.", "torch." }) {
            if (cls.rfind(pre, 0) == 0) {
                cls = cls.substr(strlen(pre));
                break;
            }
        }
        pk s = make(pk_obj::storage);
        if (cls == "UntypedStorage") {
            s->tensor.dtype = torch_dtype::u8;
        } else {
            bool found = false;
            for (const auto & d : k_torch_dtypes) {
                if (cls == d.storage) {
                    s->tensor.dtype = d.t;
                    found           = true;
                }
            }
            if (!found) {
                fail("%s: unsupported storage type %s", what_.c_str(), type->s.c_str());
            }
        }
        s->tensor.storage_key   = key->s;
        s->tensor.storage_numel = numel->i;
        return s;
    }
};

}  // namespace

// ------------------------------------------------------------------------------------------------- archive

struct torch_checkpoint::zip_handle {
    zip_t * z = nullptr;
    ~zip_handle() {
        if (z) {
            zip_discard(z);
        }
    }
};

std::vector<uint8_t> torch_checkpoint::read_entry(const std::string & name, size_t max_bytes) const {
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat(zip_->z, name.c_str(), 0, &st) != 0 || !(st.valid & ZIP_STAT_SIZE)) {
        fail("%s: missing archive entry '%s'", path_.c_str(), name.c_str());
    }
    const size_t n = (size_t) std::min<uint64_t>(st.size, max_bytes);
    zip_file_t * f = zip_fopen(zip_->z, name.c_str(), 0);
    if (!f) {
        fail("%s: cannot open archive entry '%s': %s", path_.c_str(), name.c_str(), zip_strerror(zip_->z));
    }
    std::vector<uint8_t> out(n);
    size_t               got = 0;
    while (got < n) {
        const zip_int64_t r = zip_fread(f, out.data() + got, n - got);
        if (r <= 0) {
            std::string err = r < 0 ? zip_file_strerror(f) : "unexpected end of data";
            zip_fclose(f);
            fail("%s: cannot read archive entry '%s' (truncated or corrupt file?): %s", path_.c_str(), name.c_str(),
                 err.c_str());
        }
        got += (size_t) r;
    }
    zip_fclose(f);
    return out;
}

// Walks the unpickled object and records every tensor and scalar under its dotted path.
namespace {

struct flattener {
    const std::string &                    what;
    std::map<std::string, torch_tensor> &  tensors;
    std::map<std::string, std::string> &   scalars;
    std::set<const pk_obj *>               on_path;

    static std::string key_str(const pk & k) {
        switch (k->kind) {
            case pk_obj::string: return k->s;
            case pk_obj::integer: return std::to_string(k->i);
            case pk_obj::boolean: return k->i ? "True" : "False";
            default: return "";
        }
    }

    static std::string join(const std::string & prefix, const std::string & k) { return prefix.empty() ? k : prefix + "." + k; }

    void walk(const pk & v, const std::string & name, int depth) {
        if (depth > 64 || on_path.count(v.get())) {
            return;  // self-referencing or absurdly deep structure: nothing more to find
        }
        switch (v->kind) {
            case pk_obj::tensor_v: {
                if (tensors.count(name)) {
                    GLM_LOG_WARN("%s: duplicate tensor name '%s'; keeping the first", what.c_str(), name.c_str());
                    return;
                }
                torch_tensor t = v->tensor;
                t.name         = name;
                tensors[name]  = t;
                return;
            }
            case pk_obj::integer: scalars[name] = std::to_string(v->i); return;
            case pk_obj::boolean: scalars[name] = v->i ? "true" : "false"; return;
            case pk_obj::real: scalars[name] = strfmt("%.17g", v->f); return;
            case pk_obj::string: scalars[name] = v->s; return;
            default: break;
        }
        on_path.insert(v.get());
        if (v->kind == pk_obj::dict || v->kind == pk_obj::object) {
            for (const auto & kv : v->entries) {
                const std::string k = key_str(kv.first);
                if (!k.empty()) {
                    walk(kv.second, join(name, k), depth + 1);
                }
            }
            if (v->kind == pk_obj::object && v->state && v->state->kind == pk_obj::dict) {
                walk(v->state, name, depth + 1);  // attributes of plain objects (argparse.Namespace, ...)
            }
        } else if (v->kind == pk_obj::list || v->kind == pk_obj::tuple) {
            for (size_t k = 0; k < v->items.size(); ++k) {
                walk(v->items[k], join(name, std::to_string(k)), depth + 1);
            }
        }
        on_path.erase(v.get());
    }
};

}  // namespace

torch_checkpoint::torch_checkpoint(const std::string & path) : path_(path), zip_(new zip_handle) {
    if (!file_exists(path)) {
        fail("%s: file not found", path.c_str());
    }
    {
        FILE * f = fopen(path.c_str(), "rb");
        if (!f) {
            fail("%s: cannot open file (%s)", path.c_str(), strerror(errno));
        }
        uint8_t      head[4] = {};
        const size_t n       = fread(head, 1, 4, f);
        fclose(f);
        if (n == 0) {
            fail("%s: empty file, not a PyTorch checkpoint", path.c_str());
        }
        if (n == 4 && memcmp(head, "PK\x03\x04", 4) != 0) {
            if (head[0] == 0x80) {
                fail("%s: legacy (non-zip) PyTorch checkpoint, not supported: re-save it with torch.save() of "
                     "PyTorch >= 1.6 (without _use_new_zipfile_serialization=False)", path.c_str());
            }
            fail("%s: not a PyTorch checkpoint (not a zip archive written by torch.save)", path.c_str());
        }
    }
    int err = 0;
    zip_->z = zip_open(path.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &err);
    if (!zip_->z) {
        zip_error_t ze;
        zip_error_init_with_code(&ze, err);
        std::string msg = zip_error_strerror(&ze);
        zip_error_fini(&ze);
        fail("%s: not a readable zip archive (truncated or corrupt file?): %s", path.c_str(), msg.c_str());
    }

    // find <prefix>/data.pkl
    const zip_int64_t n_entries = zip_get_num_entries(zip_->z, 0);
    std::string       pkl;
    bool              torchscript = false;
    for (zip_int64_t i = 0; i < n_entries; ++i) {
        const char * nm = zip_get_name(zip_->z, (zip_uint64_t) i, 0);
        if (!nm) {
            continue;
        }
        const std::string s   = nm;
        const size_t      sl  = s.find('/');
        const std::string rel = sl == std::string::npos ? s : s.substr(sl + 1);
        if (rel == "data.pkl" && pkl.empty()) {
            pkl     = s;
            prefix_ = s.substr(0, s.size() - rel.size());
        }
        if (rel == "constants.pkl" || rel.rfind("code/", 0) == 0) {
            torchscript = true;
        }
    }
    if (torchscript) {
        fail("%s: a TorchScript archive (torch.jit.save), not a torch.save checkpoint", path.c_str());
    }
    if (pkl.empty()) {
        fail("%s: zip archive without data.pkl: not a PyTorch checkpoint", path.c_str());
    }
    {
        zip_stat_t st;
        zip_stat_init(&st);
        if (zip_stat(zip_->z, (prefix_ + "byteorder").c_str(), 0, &st) == 0) {
            const std::vector<uint8_t> bo = read_entry(prefix_ + "byteorder", 16);
            if (std::string(bo.begin(), bo.end()) != "little") {
                fail("%s: big-endian checkpoint, not supported", path.c_str());
            }
        }
    }

    const std::vector<uint8_t> data = read_entry(pkl);
    unpickler                  up(path + ":" + pkl, data.data(), data.size());
    pk                         root = up.run();
    flattener                  fl{ path_, tensors_, scalars_, {} };
    fl.walk(root, "", 0);

    // every tensor must lie inside its storage, and its storage must exist
    for (const auto & kv : tensors_) {
        const torch_tensor & t = kv.second;
        int64_t extent = t.numel() > 0 ? 1 : 0;
        for (size_t d = 0; d < t.shape.size() && extent > 0; ++d) {
            extent += (t.shape[d] - 1) * t.strides[d];
        }
        if (t.numel() > 0 && t.storage_offset + extent > t.storage_numel) {
            fail("%s: tensor '%s' %s (offset %lld) exceeds its storage of %lld elements", path.c_str(),
                 kv.first.c_str(), t.shape_str().c_str(), (long long) t.storage_offset, (long long) t.storage_numel);
        }
        zip_stat_t st;
        zip_stat_init(&st);
        const std::string entry = prefix_ + "data/" + t.storage_key;
        if (zip_stat(zip_->z, entry.c_str(), 0, &st) != 0) {
            fail("%s: tensor '%s': missing storage entry '%s'", path.c_str(), kv.first.c_str(), entry.c_str());
        }
        if ((st.valid & ZIP_STAT_SIZE) && st.size < (uint64_t) t.storage_numel * torch_dtype_size(t.dtype)) {
            fail("%s: tensor '%s': storage '%s' has %llu bytes, expected %llu", path.c_str(), kv.first.c_str(),
                 entry.c_str(), (unsigned long long) st.size,
                 (unsigned long long) (t.storage_numel * torch_dtype_size(t.dtype)));
        }
    }
    GLM_LOG_DEBUG("%s: %zu tensors, %zu scalars", path.c_str(), tensors_.size(), scalars_.size());
}

torch_checkpoint::~torch_checkpoint() = default;

bool torch_checkpoint::has(const std::string & name) const { return tensors_.count(name) != 0; }

const torch_tensor & torch_checkpoint::get(const std::string & name) const {
    auto it = tensors_.find(name);
    if (it == tensors_.end()) {
        fail("%s: no tensor '%s'", path_.c_str(), name.c_str());
    }
    return it->second;
}

std::vector<std::string> torch_checkpoint::names() const {
    std::vector<std::string> out;
    for (const auto & kv : tensors_) {
        out.push_back(kv.first);
    }
    return out;
}

std::string torch_checkpoint::find_prefix(const std::string & suffix) const {
    std::string best;
    bool        found = false;
    for (const auto & kv : tensors_) {
        const std::string & n = kv.first;
        if (n.size() >= suffix.size() && n.compare(n.size() - suffix.size(), suffix.size(), suffix) == 0) {
            const std::string p = n.substr(0, n.size() - suffix.size());
            if (!p.empty() && p.back() != '.') {
                continue;  // "xsuffix" is not "x.suffix"
            }
            if (!found || p.size() < best.size()) {
                best  = p;
                found = true;
            }
        }
    }
    if (!found) {
        fail("%s: no tensor named '...%s'", path_.c_str(), suffix.c_str());
    }
    return best;
}

std::vector<uint8_t> torch_checkpoint::read_bytes(const torch_tensor & t) const {
    const size_t  es = torch_dtype_size(t.dtype);
    const int64_t n  = t.numel();
    std::vector<uint8_t> out((size_t) n * es);
    if (n == 0) {
        return out;
    }
    int64_t extent = 1;
    for (size_t d = 0; d < t.shape.size(); ++d) {
        extent += (t.shape[d] - 1) * t.strides[d];
    }
    // read the byte range [offset, offset + extent) of the storage: seek when the entry is stored uncompressed
    const std::string entry = prefix_ + "data/" + t.storage_key;
    zip_file_t *      f     = zip_fopen(zip_->z, entry.c_str(), 0);
    if (!f) {
        fail("%s: cannot open storage '%s' of tensor '%s': %s", path_.c_str(), entry.c_str(), t.name.c_str(),
             zip_strerror(zip_->z));
    }
    const uint64_t       skip = (uint64_t) t.storage_offset * es;
    std::vector<uint8_t> raw((size_t) extent * es);
    auto read_n = [&](uint8_t * dst, size_t n_bytes) {
        size_t got = 0;
        while (got < n_bytes) {
            const zip_int64_t r = zip_fread(f, dst + got, n_bytes - got);
            if (r <= 0) {
                std::string err = r < 0 ? zip_file_strerror(f) : "unexpected end of data";
                zip_fclose(f);
                fail("%s: cannot read tensor '%s' (truncated or corrupt file?): %s", path_.c_str(), t.name.c_str(),
                     err.c_str());
            }
            got += (size_t) r;
        }
    };
    if (skip > 0 && zip_fseek(f, (zip_int64_t) skip, SEEK_SET) != 0) {
        std::vector<uint8_t> junk(1 << 16);  // compressed entry: read and drop
        uint64_t             left = skip;
        while (left > 0) {
            const size_t k = (size_t) std::min<uint64_t>(left, junk.size());
            read_n(junk.data(), k);
            left -= k;
        }
    }
    read_n(raw.data(), raw.size());
    zip_fclose(f);

    if (t.is_contiguous()) {
        memcpy(out.data(), raw.data(), out.size());
        return out;
    }
    // gather a strided view in row-major order
    const size_t         nd = t.shape.size();
    std::vector<int64_t> idx(nd, 0);
    for (int64_t i = 0; i < n; ++i) {
        int64_t off = 0;
        for (size_t d = 0; d < nd; ++d) {
            off += idx[d] * t.strides[d];
        }
        memcpy(out.data() + (size_t) i * es, raw.data() + (size_t) off * es, es);
        for (size_t d = nd; d-- > 0;) {
            if (++idx[d] < t.shape[d]) {
                break;
            }
            idx[d] = 0;
        }
    }
    return out;
}

template <typename T> static T ld(const uint8_t * p) {
    T v;
    memcpy(&v, p, sizeof(T));
    return v;
}

std::vector<float> torch_checkpoint::to_f32(const torch_tensor & t) const {
    const std::vector<uint8_t> b  = read_bytes(t);
    const size_t               es = torch_dtype_size(t.dtype);
    const size_t               n  = b.size() / es;
    std::vector<float>         out(n);
    for (size_t i = 0; i < n; ++i) {
        const uint8_t * p = b.data() + i * es;
        switch (t.dtype) {
            case torch_dtype::f32: out[i] = ld<float>(p); break;
            case torch_dtype::f64: out[i] = (float) ld<double>(p); break;
            case torch_dtype::f16: out[i] = ggml_fp16_to_fp32(ld<ggml_fp16_t>(p)); break;
            case torch_dtype::bf16: {
                const uint32_t u = (uint32_t) ld<uint16_t>(p) << 16;
                memcpy(&out[i], &u, 4);
            } break;
            case torch_dtype::i64: out[i] = (float) ld<int64_t>(p); break;
            case torch_dtype::i32: out[i] = (float) ld<int32_t>(p); break;
            case torch_dtype::i16: out[i] = (float) ld<int16_t>(p); break;
            case torch_dtype::i8: out[i] = (float) ld<int8_t>(p); break;
            case torch_dtype::u8: case torch_dtype::boolean: out[i] = (float) *p; break;
        }
    }
    return out;
}

std::vector<int64_t> torch_checkpoint::to_i64(const torch_tensor & t) const {
    const std::vector<uint8_t> b  = read_bytes(t);
    const size_t               es = torch_dtype_size(t.dtype);
    const size_t               n  = b.size() / es;
    std::vector<int64_t>       out(n);
    for (size_t i = 0; i < n; ++i) {
        const uint8_t * p = b.data() + i * es;
        switch (t.dtype) {
            case torch_dtype::i64: out[i] = ld<int64_t>(p); break;
            case torch_dtype::i32: out[i] = ld<int32_t>(p); break;
            case torch_dtype::i16: out[i] = ld<int16_t>(p); break;
            case torch_dtype::i8: out[i] = ld<int8_t>(p); break;
            case torch_dtype::u8: case torch_dtype::boolean: out[i] = *p; break;
            default:
                fail("%s: tensor '%s' is %s, not an integer tensor", path_.c_str(), t.name.c_str(),
                     torch_dtype_name(t.dtype));
        }
    }
    return out;
}

}  // namespace glm
