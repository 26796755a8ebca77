// The renderer: statements write to one output string; expressions evaluate to Values with
// Python's operators.
#include "tokenizer/chat_template/render.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "tokenizer/chat_template/builtins.h"

namespace moe::tokenizer::jinja {

namespace {

enum class Flow { kNormal, kBreak, kContinue };

class Renderer {
 public:
  explicit Renderer(const Dict& variables) {
    scopes_.emplace_back();
    for (const auto& [name, value] : variables) scopes_.back().vars[name] = value;
  }

  std::string run(const Body& body) {
    exec(body);
    return std::move(out_);
  }

 private:
  [[noreturn]] static void fail(int line, const std::string& what) {
    throw TemplateError("chat template line " + std::to_string(line) + ": " + what);
  }

  // A variable scope: the template's, one per for-loop iteration, one per macro call.
  struct Scope {
    std::map<std::string, Value> vars;
    std::map<std::string, const Stmt*> macros;
  };

  Value lookup(const std::string& name) const {
    for (auto it = scopes_.rbegin(); it != scopes_.rend(); ++it) {
      if (const auto found = it->vars.find(name); found != it->vars.end()) return found->second;
      if (it->macros.count(name)) return Value();
    }
    return Value();
  }

  // The macro `name` names where it is looked up, or null.
  const Stmt* find_macro(const std::string& name, size_t& depth) const {
    for (size_t i = scopes_.size(); i-- > 0;) {
      if (scopes_[i].vars.count(name)) return nullptr;
      if (const auto found = scopes_[i].macros.find(name); found != scopes_[i].macros.end()) {
        depth = i + 1;
        return found->second;
      }
    }
    return nullptr;
  }

  Flow exec(const Body& body) {
    for (const auto& stmt : body) {
      const Flow flow = exec(*stmt);
      if (flow != Flow::kNormal) return flow;
    }
    return Flow::kNormal;
  }

  Flow exec(const Stmt& s) {
    try {
      return exec_unchecked(s);
    } catch (const TemplateError& e) {
      const std::string what = e.what();
      if (what.rfind("chat template line ", 0) == 0) throw;
      fail(s.line, what);
    }
  }

  Flow exec_unchecked(const Stmt& s) {
    switch (s.kind) {
      case Stmt::Kind::kText:
        out_ += s.text;
        return Flow::kNormal;
      case Stmt::Kind::kOutput:
        out_ += eval(*s.expr).str();
        return Flow::kNormal;
      case Stmt::Kind::kIf:
        for (const auto& [test, body] : s.branches)
          if (eval(*test).truthy()) return exec(body);
        return exec(s.else_body);
      case Stmt::Kind::kFor:
        return exec_for(s);
      case Stmt::Kind::kSet: {
        Value value = eval(*s.expr);
        if (!s.attribute) {
          scopes_.back().vars[s.targets[0]] = std::move(value);
          return Flow::kNormal;
        }
        const Value target = lookup(s.targets[0]);
        if (target.kind() != Value::Kind::kNamespace)
          fail(s.line, "cannot assign attribute on non-namespace object '" + s.targets[0] + "'");
        target.set(s.targets[1], std::move(value));
        return Flow::kNormal;
      }
      case Stmt::Kind::kSetBlock: {
        std::string saved = std::move(out_);
        out_.clear();
        exec(s.body);
        scopes_.back().vars[s.targets[0]] = Value(std::move(out_));
        out_ = std::move(saved);
        return Flow::kNormal;
      }
      case Stmt::Kind::kMacro:
        scopes_.back().vars.erase(s.targets[0]);
        scopes_.back().macros[s.targets[0]] = &s;
        return Flow::kNormal;
      case Stmt::Kind::kBreak:
        return Flow::kBreak;
      case Stmt::Kind::kContinue:
        return Flow::kContinue;
    }
    return Flow::kNormal;
  }

  void bind(const Stmt& s, Scope& scope, const Value& item) {
    if (s.targets.size() == 1) {
      scope.vars[s.targets[0]] = item;
      return;
    }
    const List parts = iterate(item);
    if (parts.size() != s.targets.size())
      fail(s.line, "cannot unpack " + std::to_string(parts.size()) + " values into " +
                       std::to_string(s.targets.size()) + " loop variables");
    for (size_t i = 0; i < parts.size(); ++i) scope.vars[s.targets[i]] = parts[i];
  }

  Flow exec_for(const Stmt& s) {
    const Value iterable = eval(*s.expr);
    if (iterable.is_none()) fail(s.line, "'NoneType' object is not iterable");
    List items = iterate(iterable);
    if (s.filter) {  // the loop's `if` runs first: loop.index and loop.last count what passes
      List kept;
      for (const Value& item : items) {
        scopes_.emplace_back();
        bind(s, scopes_.back(), item);
        const bool pass = eval(*s.filter).truthy();
        scopes_.pop_back();
        if (pass) kept.push_back(item);
      }
      items = std::move(kept);
    }
    const auto n = static_cast<int64_t>(items.size());
    for (int64_t i = 0; i < n; ++i) {
      scopes_.emplace_back();
      Dict loop = {{"index", Value(i + 1)},
                   {"index0", Value(i)},
                   {"revindex", Value(n - i)},
                   {"revindex0", Value(n - i - 1)},
                   {"first", Value(i == 0)},
                   {"last", Value(i == n - 1)},
                   {"length", Value(n)},
                   {"depth", Value(int64_t{1})},
                   {"depth0", Value(int64_t{0})},
                   {"previtem", i > 0 ? items[i - 1] : Value()},
                   {"nextitem", i + 1 < n ? items[i + 1] : Value()}};
      scopes_.back().vars["loop"] = Value(std::move(loop));
      bind(s, scopes_.back(), items[i]);
      const Flow flow = exec(s.body);
      scopes_.pop_back();
      if (flow == Flow::kBreak) break;
    }
    if (n == 0) return exec(s.else_body);
    return Flow::kNormal;
  }

  Value eval(const Expr& e) {
    try {
      return eval_unchecked(e);
    } catch (const TemplateError& error) {
      const std::string what = error.what();
      if (what.rfind("chat template line ", 0) == 0) throw;
      fail(e.line, what);
    }
  }

  void eval_args(const Expr& e, size_t from, Args& args, Kwargs& kwargs) {
    for (size_t i = from; i < e.args.size(); ++i) args.push_back(eval(*e.args[i]));
    for (const auto& [name, value] : e.kwargs) kwargs.emplace_back(name, eval(*value));
  }

  // How an error names the value of `e`: 'messages[0].content', or 'a value'.
  static std::string undefined_name(const Expr& e) {
    const std::string path = path_of(e);
    return path.empty() ? "a value" : "'" + path + "'";
  }
  static std::string path_of(const Expr& e) {
    if (e.kind == Expr::Kind::kName) return e.name;
    if (e.kind != Expr::Kind::kGetAttr && e.kind != Expr::Kind::kGetItem) return "";
    const std::string object = path_of(*e.args[0]);
    if (object.empty()) return "";
    if (e.kind == Expr::Kind::kGetAttr) return object + "." + e.name;
    if (e.args[1]->kind != Expr::Kind::kLiteral) return "";
    return object + "[" + e.args[1]->value.repr() + "]";
  }

  Value eval_unchecked(const Expr& e) {
    switch (e.kind) {
      case Expr::Kind::kLiteral:
        return e.value;
      case Expr::Kind::kName:
        return lookup(e.name);
      case Expr::Kind::kList: {
        List items;
        for (const auto& item : e.args) items.push_back(eval(*item));
        return Value(std::move(items), e.negated);
      }
      case Expr::Kind::kDict: {
        Dict dict;
        Value holder(Dict{});
        for (size_t i = 0; i + 1 < e.args.size(); i += 2) {
          const Value key = eval(*e.args[i]);
          if (!key.is_string()) fail(e.line, "dict keys must be strings in this Jinja subset");
          holder.set(key.as_string(), eval(*e.args[i + 1]));
        }
        return holder;
      }
      case Expr::Kind::kGetAttr: {
        const Value target = eval(*e.args[0]);
        if (target.is_undefined()) fail(e.line, undefined_name(*e.args[0]) + " is undefined (reading ." + e.name + ")");
        return target.is_dict() ? target.get(e.name) : Value();
      }
      case Expr::Kind::kGetItem: {
        const Value target = eval(*e.args[0]);
        const Value key = eval(*e.args[1]);
        if (target.is_undefined())
          fail(e.line, undefined_name(*e.args[0]) + " is undefined (reading [" + key.repr() + "])");
        if (target.is_dict()) return key.is_string() ? target.get(key.as_string()) : Value();
        if (key.is_int()) return get_index(target, key.as_int());
        return Value();
      }
      case Expr::Kind::kSlice:
        return slice(e);
      case Expr::Kind::kCall:
        return call(e);
      case Expr::Kind::kFilter: {
        const Value target = eval(*e.args[0]);
        Args args;
        Kwargs kwargs;
        eval_args(e, 1, args, kwargs);
        return apply_filter(e.name, target, args, kwargs);
      }
      case Expr::Kind::kTest: {
        const Value target = eval(*e.args[0]);
        Args args;
        Kwargs kwargs;
        eval_args(e, 1, args, kwargs);
        return Value(apply_test(e.name, target, args) != e.negated);
      }
      case Expr::Kind::kNot:
        return Value(!eval(*e.args[0]).truthy());
      case Expr::Kind::kNegate: {
        const Value v = eval(*e.args[0]);
        if (v.kind() == Value::Kind::kFloat) return Value(-v.as_float());
        if (v.is_int()) return Value(-v.as_int());
        fail(e.line, "bad operand type for unary -: '" + v.type_name() + "'");
      }
      case Expr::Kind::kBinary:
        return binary(e);
      case Expr::Kind::kCompare: {
        Value left = eval(*e.args[0]);
        for (size_t i = 0; i < e.ops.size(); ++i) {
          Value right = eval(*e.args[i + 1]);
          if (!compare(e.ops[i], left, right)) return Value(false);
          left = std::move(right);
        }
        return Value(true);
      }
      case Expr::Kind::kCondition:
        if (eval(*e.args[1]).truthy()) return eval(*e.args[0]);
        return e.args[2] ? eval(*e.args[2]) : Value();
    }
    return Value();
  }

  Value call(const Expr& e) {
    const Expr& callee = *e.args[0];
    Args args;
    Kwargs kwargs;
    if (callee.kind == Expr::Kind::kGetAttr) {
      const Value target = eval(*callee.args[0]);
      if (has_method(target, callee.name)) {
        eval_args(e, 1, args, kwargs);
        return call_method(target, callee.name, args, kwargs);
      }
      if (target.is_undefined())
        fail(e.line, undefined_name(*callee.args[0]) + " is undefined (calling ." + callee.name + "())");
      fail(e.line, "'" + target.type_name() + "' object has no method '" + callee.name + "' in this Jinja subset");
    }
    size_t depth = 0;
    if (callee.kind == Expr::Kind::kName) {
      if (const Stmt* macro = find_macro(callee.name, depth)) {
        eval_args(e, 1, args, kwargs);
        return call_macro(*macro, depth, args, kwargs, e.line);
      }
    }
    if (callee.kind != Expr::Kind::kName || !lookup(callee.name).is_undefined())
      fail(e.line, undefined_name(callee) + " is not callable");
    eval_args(e, 1, args, kwargs);
    return call_global(callee.name, args, kwargs);
  }

  // A macro call renders its body in a scope of its parameters above the scopes it was defined
  // in (not the caller's), and returns the text.
  Value call_macro(const Stmt& macro, size_t depth, const Args& args, const Kwargs& kwargs, int line) {
    const std::string& name = macro.targets[0];
    const size_t n_params = macro.targets.size() - 1;
    if (args.size() > n_params)
      fail(line, "macro '" + name + "' takes not more than " + std::to_string(n_params) + " argument(s)");
    if (macro_depth_ >= kMaxMacroDepth) fail(line, "macro calls nested deeper than " + std::to_string(kMaxMacroDepth));
    Scope scope;
    for (const auto& [key, value] : kwargs) {
      const auto it = std::find(macro.targets.begin() + 1, macro.targets.end(), key);
      if (it == macro.targets.end()) fail(line, "macro '" + name + "' has no argument '" + key + "'");
      if (static_cast<size_t>(it - macro.targets.begin() - 1) < args.size())
        fail(line, "macro '" + name + "' got multiple values for argument '" + key + "'");
      scope.vars[key] = value;
    }
    std::vector<Scope> callers(std::make_move_iterator(scopes_.begin() + static_cast<std::ptrdiff_t>(depth)),
                               std::make_move_iterator(scopes_.end()));
    scopes_.resize(depth);
    scopes_.push_back(std::move(scope));
    std::string saved = std::move(out_);
    out_.clear();
    ++macro_depth_;
    const auto restore = [&] {
      --macro_depth_;
      scopes_.resize(depth);
      for (Scope& s : callers) scopes_.push_back(std::move(s));
      std::swap(saved, out_);
    };
    try {
      for (size_t i = 0; i < n_params; ++i) {
        const std::string& param = macro.targets[i + 1];
        if (i < args.size())
          scopes_.back().vars[param] = args[i];
        else if (!scopes_.back().vars.count(param) && macro.defaults[i])
          scopes_.back().vars[param] = eval(*macro.defaults[i]);
      }
      exec(macro.body);
    } catch (...) {
      restore();
      throw;
    }
    restore();
    return Value(std::move(saved));  // swapped: `saved` holds the macro's text
  }

  Value slice(const Expr& e) {
    const Value target = eval(*e.args[0]);
    if (target.is_undefined()) fail(e.line, undefined_name(*e.args[0]) + " is undefined (slicing it)");
    std::optional<int64_t> bound[3];
    for (int i = 0; i < 3; ++i) {
      if (!e.args[i + 1]) continue;
      const Value v = eval(*e.args[i + 1]);
      if (v.is_none()) continue;
      if (!v.is_int()) fail(e.line, "slice indices must be integers or None");
      bound[i] = v.as_int();
    }
    List items;
    if (target.is_list() || target.is_string())
      items = iterate(target);
    else
      fail(e.line, "'" + target.type_name() + "' object is not subscriptable");
    const auto n = static_cast<int64_t>(items.size());
    const int64_t step = bound[2].value_or(1);
    if (step == 0) fail(e.line, "slice step cannot be zero");
    // Python's PySlice_AdjustIndices.
    const auto adjust = [&](std::optional<int64_t> b, int64_t fallback) {
      if (!b) return fallback;
      int64_t v = *b;
      if (v < 0) {
        v += n;
        if (v < 0) v = step < 0 ? -1 : 0;
      } else if (v >= n) {
        v = step < 0 ? n - 1 : n;
      }
      return v;
    };
    const int64_t start = adjust(bound[0], step < 0 ? n - 1 : 0);
    const int64_t stop = adjust(bound[1], step < 0 ? -1 : n);
    List out;
    for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) out.push_back(items[i]);
    if (target.is_list()) return Value(std::move(out));
    std::string text;
    for (const Value& cp : out) text += cp.as_string();
    return Value(text);
  }

  static bool compare(const std::string& op, const Value& a, const Value& b) {
    if (op == "==") return a == b;
    if (op == "!=") return !(a == b);
    if (op == "in" || op == "not in") return apply_test("in", a, {b}) == (op == "in");
    if (a.is_undefined() || b.is_undefined()) throw TemplateError("an undefined value in a comparison '" + op + "'");
    bool less_than, equal;
    if (a.is_number() && b.is_number()) {
      less_than = a.as_float() < b.as_float();
      equal = a.as_float() == b.as_float();
    } else if (a.is_string() && b.is_string()) {
      less_than = a.as_string() < b.as_string();  // UTF-8 byte order is code point order
      equal = a.as_string() == b.as_string();
    } else {
      throw TemplateError("'" + op + "' not supported between instances of '" + a.type_name() + "' and '" +
                          b.type_name() + "'");
    }
    if (op == "<") return less_than;
    if (op == "<=") return less_than || equal;
    if (op == ">") return !less_than && !equal;
    return !less_than;
  }

  Value binary(const Expr& e) {
    const std::string& op = e.name;
    const Value left = eval(*e.args[0]);
    if (op == "and") return left.truthy() ? eval(*e.args[1]) : left;
    if (op == "or") return left.truthy() ? left : eval(*e.args[1]);
    const Value right = eval(*e.args[1]);
    if (op == "~") return Value(left.str() + right.str());
    if (left.is_undefined() || right.is_undefined())
      fail(e.line, (left.is_undefined() ? undefined_name(*e.args[0]) : undefined_name(*e.args[1])) +
                       " is undefined (in '" + op + "')");
    const auto type_error = [&]() -> Value {
      fail(e.line,
           "unsupported operand type(s) for " + op + ": '" + left.type_name() + "' and '" + right.type_name() + "'");
    };
    if (op == "+") {
      if (left.is_string() && right.is_string()) return Value(left.as_string() + right.as_string());
      if (left.is_list() && right.is_list()) {
        List out = left.as_list();
        out.insert(out.end(), right.as_list().begin(), right.as_list().end());
        return Value(std::move(out));
      }
    }
    if (op == "*" && (left.is_string() || left.is_list() || right.is_string() || right.is_list())) {
      const Value& seq = left.is_int() ? right : left;
      const Value& times = left.is_int() ? left : right;
      if (!times.is_int() || !(seq.is_string() || seq.is_list())) return type_error();
      if (times.as_int() * static_cast<int64_t>(seq.is_string() ? seq.as_string().size() : seq.as_list().size()) >
          (int64_t{1} << 24))
        fail(e.line, "a repetition longer than 16 Mi items");
      if (seq.is_string()) {
        std::string out;
        for (int64_t i = 0; i < times.as_int(); ++i) out += seq.as_string();
        return Value(out);
      }
      List out;
      for (int64_t i = 0; i < times.as_int(); ++i) out.insert(out.end(), seq.as_list().begin(), seq.as_list().end());
      return Value(std::move(out));
    }
    if (!left.is_number() || !right.is_number()) return type_error();
    const bool integers = left.is_int() && right.is_int();
    const double x = left.as_float(), y = right.as_float();
    if (op == "/") {
      if (y == 0) fail(e.line, "division by zero");
      return Value(x / y);
    }
    if (op == "//" || op == "%") {
      if (y == 0) fail(e.line, "integer division or modulo by zero");
      if (integers) {
        const int64_t a = left.as_int(), b = right.as_int();
        int64_t q = a / b;
        if ((a % b != 0) && ((a < 0) != (b < 0))) --q;  // Python floors
        return op == "//" ? Value(q) : Value(a - q * b);
      }
      const double q = std::floor(x / y);
      return op == "//" ? Value(q) : Value(x - q * y);
    }
    if (op == "**") {
      if (integers && right.as_int() >= 0) {
        if (right.as_int() > 63) fail(e.line, "an integer power above 63");
        int64_t r = 1;
        for (int64_t i = 0; i < right.as_int(); ++i) r *= left.as_int();
        return Value(r);
      }
      return Value(std::pow(x, y));
    }
    if (integers) {
      const int64_t a = left.as_int(), b = right.as_int();
      if (op == "+") return Value(a + b);
      if (op == "-") return Value(a - b);
      if (op == "*") return Value(a * b);
    } else {
      if (op == "+") return Value(x + y);
      if (op == "-") return Value(x - y);
      if (op == "*") return Value(x * y);
    }
    return type_error();
  }

  static constexpr int kMaxMacroDepth = 64;  // a recursive macro stops here, never overflowing the stack

  std::vector<Scope> scopes_;
  std::string out_;
  int macro_depth_ = 0;
};

}  // namespace

std::string render_template(const Body& body, const Dict& variables) { return Renderer(variables).run(body); }

}  // namespace moe::tokenizer::jinja
