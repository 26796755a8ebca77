// The parser: recursive descent over the tokens, one function per precedence level as in
// Jinja2's parser.py (condexpr < or < and < not < compare < + - < ~ < * / // % < ** < unary <
// postfix, filters and tests).
#include "tokenizer/chat_template/parser.h"

#include <set>

#include "tokenizer/chat_template/lexer.h"

namespace moe::tokenizer::jinja {

namespace {

using K = Token::Kind;

ExprPtr make(Expr::Kind kind, int line) {
  auto e = std::make_unique<Expr>();
  e->kind = kind;
  e->line = line;
  return e;
}

ExprPtr make(Expr::Kind kind, int line, std::string name, ExprPtr a, ExprPtr b = nullptr) {
  ExprPtr e = make(kind, line);
  e->name = std::move(name);
  e->args.push_back(std::move(a));
  if (b) e->args.push_back(std::move(b));
  return e;
}

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : tokens_(std::move(tokens)) {}

  Body parse() {
    std::string end;
    Body body = parse_body({}, end);
    return body;
  }

 private:
  const Token& peek(size_t ahead = 0) const {
    static const Token kEnd{K::kBlockEnd, "<end of template>", 0};
    return pos_ + ahead < tokens_.size() ? tokens_[pos_ + ahead] : kEnd;
  }
  bool at_end() const { return pos_ >= tokens_.size(); }
  int line() const { return at_end() ? (tokens_.empty() ? 1 : tokens_.back().line) : peek().line; }
  const Token& next() {
    if (at_end()) fail("unexpected end of template");
    return tokens_[pos_++];
  }
  bool is_op(const char* op, size_t ahead = 0) const {
    return peek(ahead).kind == K::kOperator && peek(ahead).text == op;
  }
  bool is_name(const char* name, size_t ahead = 0) const {
    return peek(ahead).kind == K::kName && peek(ahead).text == name;
  }
  bool skip_op(const char* op) {
    if (!is_op(op)) return false;
    ++pos_;
    return true;
  }
  bool skip_name(const char* name) {
    if (!is_name(name)) return false;
    ++pos_;
    return true;
  }
  [[noreturn]] void fail(const std::string& what) const {
    throw TemplateError("chat template line " + std::to_string(line()) + ": " + what);
  }
  std::string describe(const Token& t) const {
    switch (t.kind) {
      case K::kBlockEnd:
        return at_end() ? "the end of the template" : "'%}'";
      case K::kVariableEnd:
        return "'}}'";
      case K::kString:
        return "a string";
      default:
        return "'" + t.text + "'";
    }
  }
  void expect_op(const char* op) {
    if (!skip_op(op)) fail(std::string("expected '") + op + "', got " + describe(peek()));
  }
  void expect(K kind, const char* what) {
    if (at_end() || peek().kind != kind) fail(std::string("expected ") + what + ", got " + describe(peek()));
    ++pos_;
  }
  std::string expect_name() {
    if (peek().kind != K::kName) fail("expected a name, got " + describe(peek()));
    return next().text;
  }

  // Statements until one of `ends` ({% endfor %}, {% else %}, ...), whose name goes to `end`;
  // with no ends, until the template's end.
  Body parse_body(const std::set<std::string>& ends, std::string& end) {
    Body body;
    while (!at_end()) {
      const Token& token = next();
      if (token.kind == K::kText) {
        auto s = std::make_unique<Stmt>();
        s->kind = Stmt::Kind::kText;
        s->line = token.line;
        s->text = token.text;
        body.push_back(std::move(s));
      } else if (token.kind == K::kVariableBegin) {
        auto s = std::make_unique<Stmt>();
        s->kind = Stmt::Kind::kOutput;
        s->line = token.line;
        s->expr = parse_tuple(true);
        expect(K::kVariableEnd, "'}}'");
        body.push_back(std::move(s));
      } else if (token.kind == K::kBlockBegin) {
        const std::string name = expect_name();
        if (ends.count(name)) {
          end = name;
          return body;
        }
        if (name == "generation") {  // transformers' assistant-mask tag: renders its body
          const Nesting nesting(*this);
          expect(K::kBlockEnd, "'%}'");
          std::string inner;
          for (auto& s : parse_body({"endgeneration"}, inner)) body.push_back(std::move(s));
          expect(K::kBlockEnd, "'%}'");
          continue;
        }
        body.push_back(parse_statement(name, token.line));
      } else {
        fail("unexpected " + describe(token));
      }
    }
    if (!ends.empty()) {
      std::string names;
      for (const std::string& e : ends) names += (names.empty() ? "" : " or ") + e;
      fail("the template ends where " + names + " was expected");
    }
    return body;
  }

  std::unique_ptr<Stmt> parse_statement(const std::string& name, int line) {
    const Nesting nesting(*this);
    auto s = std::make_unique<Stmt>();
    s->line = line;
    std::string end;
    if (name == "if") {
      s->kind = Stmt::Kind::kIf;
      ExprPtr test = parse_tuple(false);
      for (;;) {
        expect(K::kBlockEnd, "'%}'");
        Body branch = parse_body({"elif", "else", "endif"}, end);
        s->branches.emplace_back(std::move(test), std::move(branch));
        if (end != "elif") break;
        test = parse_tuple(false);
      }
      if (end == "else") {
        expect(K::kBlockEnd, "'%}'");
        s->else_body = parse_body({"endif"}, end);
      }
    } else if (name == "for") {
      s->kind = Stmt::Kind::kFor;
      const bool paren = skip_op("(");
      do {
        s->targets.push_back(expect_name());
      } while (skip_op(","));
      if (paren) expect_op(")");
      if (!skip_name("in")) fail("expected 'in' in the for loop, got " + describe(peek()));
      s->expr = parse_tuple(false);
      if (skip_name("if")) s->filter = parse_tuple(true);
      if (is_name("recursive")) fail("recursive for loops are not supported");
      expect(K::kBlockEnd, "'%}'");
      s->body = parse_body({"else", "endfor"}, end);
      if (end == "else") {
        expect(K::kBlockEnd, "'%}'");
        s->else_body = parse_body({"endfor"}, end);
      }
    } else if (name == "set") {
      s->targets.push_back(expect_name());
      if (skip_op(".")) {
        s->attribute = true;
        s->targets.push_back(expect_name());
      }
      if (is_op(",")) fail("set with several targets is not supported");
      if (skip_op("=")) {
        s->kind = Stmt::Kind::kSet;
        s->expr = parse_tuple(true);
      } else {
        if (s->attribute) fail("a set block cannot assign an attribute");
        s->kind = Stmt::Kind::kSetBlock;
        expect(K::kBlockEnd, "'%}'");
        s->body = parse_body({"endset"}, end);
      }
    } else if (name == "macro") {
      s->kind = Stmt::Kind::kMacro;
      s->targets.push_back(expect_name());
      expect_op("(");
      while (!is_op(")")) {
        s->targets.push_back(expect_name());
        s->defaults.push_back(skip_op("=") ? parse_expression() : nullptr);
        if (!skip_op(",")) break;
      }
      expect_op(")");
      expect(K::kBlockEnd, "'%}'");
      s->body = parse_body({"endmacro"}, end);
    } else if (name == "break" || name == "continue") {
      s->kind = name == "break" ? Stmt::Kind::kBreak : Stmt::Kind::kContinue;
    } else {
      fail("the tag '" + name + "' is not supported by this Jinja subset");
    }
    expect(K::kBlockEnd, "'%}'");
    return s;
  }

  // Expressions separated by commas make a tuple (a list here).
  ExprPtr parse_tuple(bool with_condexpr) {
    const int start = line();
    ExprPtr first = with_condexpr ? parse_condexpr() : parse_or();
    if (!is_op(",")) return first;
    ExprPtr list = make(Expr::Kind::kList, start);
    list->negated = true;  // a tuple
    list->args.push_back(std::move(first));
    while (skip_op(",")) {
      if (peek().kind == K::kBlockEnd || peek().kind == K::kVariableEnd) break;
      list->args.push_back(with_condexpr ? parse_condexpr() : parse_or());
    }
    return list;
  }

  ExprPtr parse_expression() { return parse_condexpr(); }

  ExprPtr parse_condexpr() {
    const Nesting nesting(*this);
    ExprPtr expr = parse_or();
    while (is_name("if")) {
      const int at = line();
      ++pos_;
      ExprPtr test = parse_or();
      ExprPtr otherwise = skip_name("else") ? parse_condexpr() : nullptr;
      ExprPtr cond = make(Expr::Kind::kCondition, at);
      cond->args.push_back(std::move(expr));
      cond->args.push_back(std::move(test));
      cond->args.push_back(std::move(otherwise));
      expr = std::move(cond);
    }
    return expr;
  }

  ExprPtr parse_or() {
    ExprPtr left = parse_and();
    while (is_name("or")) {
      const int at = line();
      ++pos_;
      left = make(Expr::Kind::kBinary, at, "or", std::move(left), parse_and());
    }
    return left;
  }

  ExprPtr parse_and() {
    ExprPtr left = parse_not();
    while (is_name("and")) {
      const int at = line();
      ++pos_;
      left = make(Expr::Kind::kBinary, at, "and", std::move(left), parse_not());
    }
    return left;
  }

  ExprPtr parse_not() {
    const Nesting nesting(*this);
    if (is_name("not")) {
      const int at = line();
      ++pos_;
      ExprPtr e = make(Expr::Kind::kNot, at);
      e->args.push_back(parse_not());
      return e;
    }
    return parse_compare();
  }

  ExprPtr parse_compare() {
    const int at = line();
    ExprPtr first = parse_math1();
    ExprPtr compare;
    for (;;) {
      std::string op;
      if (peek().kind == K::kOperator && (peek().text == "==" || peek().text == "!=" || peek().text == "<" ||
                                          peek().text == "<=" || peek().text == ">" || peek().text == ">=")) {
        op = next().text;
      } else if (is_name("in")) {
        ++pos_;
        op = "in";
      } else if (is_name("not") && is_name("in", 1)) {
        pos_ += 2;
        op = "not in";
      } else {
        break;
      }
      if (!compare) {
        compare = make(Expr::Kind::kCompare, at);
        compare->args.push_back(std::move(first));
      }
      compare->ops.push_back(op);
      compare->args.push_back(parse_math1());
    }
    return compare ? std::move(compare) : std::move(first);
  }

  ExprPtr parse_math1() {
    ExprPtr left = parse_concat();
    while (is_op("+") || is_op("-")) {
      const int at = line();
      const std::string op = next().text;
      left = make(Expr::Kind::kBinary, at, op, std::move(left), parse_concat());
    }
    return left;
  }

  ExprPtr parse_concat() {
    ExprPtr left = parse_math2();
    while (is_op("~")) {
      const int at = line();
      ++pos_;
      left = make(Expr::Kind::kBinary, at, "~", std::move(left), parse_math2());
    }
    return left;
  }

  ExprPtr parse_math2() {
    ExprPtr left = parse_pow();
    while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
      const int at = line();
      const std::string op = next().text;
      left = make(Expr::Kind::kBinary, at, op, std::move(left), parse_pow());
    }
    return left;
  }

  ExprPtr parse_pow() {
    ExprPtr left = parse_unary(true);
    while (is_op("**")) {
      const int at = line();
      ++pos_;
      left = make(Expr::Kind::kBinary, at, "**", std::move(left), parse_unary(true));
    }
    return left;
  }

  // Counts the parser's recursion; a template nested deeper than kMaxDepth is refused.
  struct Nesting {
    explicit Nesting(Parser& parser) : parser_(parser) {
      if (++parser_.depth_ > kMaxDepth) parser_.fail("nested deeper than " + std::to_string(kMaxDepth) + " levels");
    }
    ~Nesting() { --parser_.depth_; }
    Parser& parser_;
  };

  ExprPtr parse_unary(bool with_filter) {
    const Nesting nesting(*this);
    const int at = line();
    ExprPtr node;
    if (skip_op("-")) {
      node = make(Expr::Kind::kNegate, at);
      node->args.push_back(parse_unary(false));
    } else if (skip_op("+")) {
      node = parse_unary(false);
    } else {
      node = parse_primary();
    }
    node = parse_postfix(std::move(node));
    if (with_filter) node = parse_filter_expr(std::move(node));
    return node;
  }

  ExprPtr literal(Value value, int at) {
    ExprPtr e = make(Expr::Kind::kLiteral, at);
    e->value = std::move(value);
    return e;
  }

  ExprPtr parse_primary() {
    const int at = line();
    if (at_end()) fail("unexpected end of template");
    const Token& token = next();
    switch (token.kind) {
      case K::kName: {
        const std::string& n = token.text;
        if (n == "true" || n == "True") return literal(Value(true), at);
        if (n == "false" || n == "False") return literal(Value(false), at);
        if (n == "none" || n == "None") return literal(Value::none(), at);
        ExprPtr e = make(Expr::Kind::kName, at);
        e->name = n;
        return e;
      }
      case K::kString: {
        std::string text = token.text;
        while (peek().kind == K::kString && !at_end()) text += next().text;  // adjacent literals join
        return literal(Value(std::move(text)), at);
      }
      case K::kInt:
        try {
          return literal(Value(static_cast<int64_t>(std::stoll(token.text))), at);
        } catch (const std::exception&) {
          fail("the integer " + token.text + " is out of range");
        }
      case K::kFloat:
        return literal(Value(std::stod(token.text)), at);
      case K::kOperator:
        if (token.text == "(") {
          if (skip_op(")")) {
            ExprPtr empty = make(Expr::Kind::kList, at);
            empty->negated = true;  // ()
            return empty;
          }
          ExprPtr inner = parse_expression();
          if (!is_op(",")) {
            expect_op(")");
            return inner;
          }
          ExprPtr tuple = make(Expr::Kind::kList, at);
          tuple->negated = true;
          tuple->args.push_back(std::move(inner));
          while (skip_op(",") && !is_op(")")) tuple->args.push_back(parse_expression());
          expect_op(")");
          return tuple;
        }
        if (token.text == "[") {
          ExprPtr list = make(Expr::Kind::kList, at);
          while (!is_op("]")) {
            list->args.push_back(parse_expression());
            if (!skip_op(",")) break;
          }
          expect_op("]");
          return list;
        }
        if (token.text == "{") {
          ExprPtr dict = make(Expr::Kind::kDict, at);
          while (!is_op("}")) {
            dict->args.push_back(parse_expression());
            expect_op(":");
            dict->args.push_back(parse_expression());
            if (!skip_op(",")) break;
          }
          expect_op("}");
          return dict;
        }
        [[fallthrough]];
      default:
        --pos_;
        fail("unexpected " + describe(token));
    }
  }

  ExprPtr parse_postfix(ExprPtr node) {
    for (;;) {
      const int at = line();
      if (skip_op(".")) {
        if (peek().kind == K::kInt) {
          ExprPtr index = literal(Value(static_cast<int64_t>(std::stoll(next().text))), at);
          node = make(Expr::Kind::kGetItem, at, "", std::move(node), std::move(index));
        } else {
          node = make(Expr::Kind::kGetAttr, at, expect_name(), std::move(node));
        }
      } else if (skip_op("[")) {
        node = parse_subscript(std::move(node), at);
      } else if (is_op("(")) {
        node = parse_call(std::move(node));
      } else {
        return node;
      }
    }
  }

  ExprPtr parse_subscript(ExprPtr node, int at) {
    ExprPtr bounds[3];
    int n_colons = 0;
    for (;;) {
      if (is_op("]")) break;
      if (skip_op(":")) {
        if (++n_colons > 2) fail("a slice has at most two ':'");
        continue;
      }
      if (bounds[n_colons]) fail("expected ':' or ']' in a subscript");
      bounds[n_colons] = parse_expression();
      if (is_op(",")) fail("tuple subscripts are not supported");
    }
    expect_op("]");
    if (n_colons == 0) {
      if (!bounds[0]) fail("an empty subscript []");
      return make(Expr::Kind::kGetItem, at, "", std::move(node), std::move(bounds[0]));
    }
    ExprPtr slice = make(Expr::Kind::kSlice, at);
    slice->args.push_back(std::move(node));
    for (ExprPtr& bound : bounds) slice->args.push_back(std::move(bound));
    return slice;
  }

  // `(args, name=value)` into e->args (after what is already there) and e->kwargs.
  void parse_call_args(Expr& e) {
    expect_op("(");
    while (!is_op(")")) {
      if (is_op("*") || is_op("**")) fail("*args and **kwargs in calls are not supported");
      if (peek().kind == K::kName && is_op("=", 1)) {
        std::string key = next().text;
        ++pos_;
        e.kwargs.emplace_back(std::move(key), parse_expression());
      } else {
        if (!e.kwargs.empty()) fail("a positional argument follows a keyword argument");
        e.args.push_back(parse_expression());
      }
      if (!skip_op(",")) break;
    }
    expect_op(")");
  }

  ExprPtr parse_call(ExprPtr callee) {
    ExprPtr call = make(Expr::Kind::kCall, line());
    call->args.push_back(std::move(callee));
    parse_call_args(*call);
    return call;
  }

  std::string dotted_name() {
    std::string name = expect_name();
    while (skip_op(".")) name += "." + expect_name();
    return name;
  }

  ExprPtr parse_filter_expr(ExprPtr node) {
    for (;;) {
      const int at = line();
      if (skip_op("|")) {
        ExprPtr filter = make(Expr::Kind::kFilter, at);
        filter->name = dotted_name();
        filter->args.push_back(std::move(node));
        if (is_op("(")) parse_call_args(*filter);
        node = std::move(filter);
      } else if (skip_name("is")) {
        ExprPtr test = make(Expr::Kind::kTest, at);
        test->negated = skip_name("not");
        test->name = dotted_name();
        test->args.push_back(std::move(node));
        const Token& t = peek();
        if (is_op("(")) {
          parse_call_args(*test);
        } else if ((t.kind == K::kName || t.kind == K::kString || t.kind == K::kInt || t.kind == K::kFloat ||
                    is_op("[") || is_op("{")) &&
                   !is_name("else") && !is_name("or") && !is_name("and")) {
          test->args.push_back(parse_postfix(parse_primary()));
        }
        node = std::move(test);
      } else if (is_op("(")) {
        node = parse_call(std::move(node));
      } else {
        return node;
      }
    }
  }

  std::vector<Token> tokens_;
  size_t pos_ = 0;
  int depth_ = 0;
};

}  // namespace

Body parse_template(const std::string& source) { return Parser(lex_template(source)).parse(); }

}  // namespace moe::tokenizer::jinja
