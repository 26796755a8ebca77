// The syntax tree of a parsed template: expressions and statements, plain structs that the
// parser builds and the renderer walks.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tokenizer/chat_template/value.h"

namespace moe::tokenizer::jinja {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  enum class Kind {
    kLiteral,    // value
    kName,       // name
    kList,       // args: the items (a tuple is a list that prints as one)
    kDict,       // args: key, value, key, value...
    kGetAttr,    // args[0].name
    kGetItem,    // args[0][args[1]]
    kSlice,      // args[0][args[1]:args[2]:args[3]], each bound may be null
    kCall,       // args[0](args[1:], kwargs)
    kFilter,     // args[0] | name(args[1:], kwargs)
    kTest,       // args[0] is [not] name(args[1:])
    kNot,        // not args[0]
    kNegate,     // -args[0]
    kBinary,     // args[0] name args[1]: or and + - * / // % ** ~ in "not in"
    kCompare,    // args[0] ops[0] args[1] ops[1] args[2]...: == != < <= > >=
    kCondition,  // args[0] if args[1] else args[2] (null: undefined)
  };
  Kind kind;
  int line = 0;
  Value value;
  std::string name;
  std::vector<std::string> ops;
  std::vector<ExprPtr> args;
  std::vector<std::pair<std::string, ExprPtr>> kwargs;
  bool negated = false;  // kTest: `is not`; kList: a tuple
};

struct Stmt;
using Body = std::vector<std::unique_ptr<Stmt>>;

struct Stmt {
  enum class Kind {
    kText,      // text
    kOutput,    // {{ expr }}
    kIf,        // branches, else_body
    kFor,       // for targets in expr [if filter]: body [else: else_body]
    kSet,       // set targets[0] = expr, or set targets[0].targets[1] = expr (attribute)
    kSetBlock,  // set targets[0]: body rendered
    kMacro,     // macro targets[0](targets[1:] with defaults): body
    kBreak,
    kContinue,
  };
  Kind kind;
  int line = 0;
  std::string text;
  ExprPtr expr;
  ExprPtr filter;
  std::vector<std::string> targets;
  bool attribute = false;
  std::vector<ExprPtr> defaults;  // kMacro: one per parameter, null when it has none
  std::vector<std::pair<ExprPtr, Body>> branches;
  Body body;
  Body else_body;
};

}  // namespace moe::tokenizer::jinja
