//===- ShapeExpr.cpp - integer expressions over B and L -------------------===//
#include "runtime/plan/Plan.h"

#include <cctype>

namespace quamba::plan {

struct ShapeExpr::Node {
  enum Kind { Constant, Batch, Seqlen, Add, Sub, Mul, Div, CeilDiv } kind;
  int64_t value = 0;
  std::shared_ptr<const Node> lhs, rhs;

  /// False when the value or an intermediate one overflows int64_t: a plan
  /// is untrusted input, and signed overflow is undefined behaviour.
  bool evaluate(int64_t b, int64_t l, int64_t &out) const {
    switch (kind) {
    case Constant: out = value; return true;
    case Batch: out = b; return true;
    case Seqlen: out = l; return true;
    default: break;
    }
    int64_t x, y;
    if (!lhs->evaluate(b, l, x) || !rhs->evaluate(b, l, y))
      return false;
    switch (kind) {
    case Add: return !__builtin_add_overflow(x, y, &out);
    case Sub: return !__builtin_sub_overflow(x, y, &out);
    case Mul: return !__builtin_mul_overflow(x, y, &out);
    case Div:
    case CeilDiv:
      if (y == 0) {
        out = 0;
        return true;
      }
      if (kind == CeilDiv &&
          (__builtin_sub_overflow(y, 1, &out) || __builtin_add_overflow(x, out, &x)))
        return false;
      if (x == INT64_MIN && y == -1)
        return false;
      out = x / y;
      return true;
    default: return false;
    }
  }
  bool isConstant() const {
    if (kind == Batch || kind == Seqlen)
      return false;
    return (!lhs || lhs->isConstant()) && (!rhs || rhs->isConstant());
  }
};

namespace {

using NodePtr = std::shared_ptr<const ShapeExpr::Node>;

/// Recursive descent over: expr = term (('+'|'-') term)*;
/// term = factor (('*'|'/') factor)*; factor = int | B | L | (expr) |
/// cdiv(expr, expr).
class Parser {
public:
  explicit Parser(const std::string &text) : text(text) {}

  Result<NodePtr> parseAll() {
    // Evaluation recurses over the tree: a bounded text bounds its depth.
    if (text.size() > kMaxLength)
      return makeError("shape expression of " + std::to_string(text.size()) +
                       " characters: longer than the " + std::to_string(kMaxLength) +
                       " a plan may use");
    NodePtr root = expr();
    skipSpace();
    if (!error.empty() || pos != text.size())
      return makeError("shape expression '" + text + "': " +
                       (error.empty() ? "unexpected '" + text.substr(pos) + "'"
                                      : error));
    return root;
  }

private:
  /// Plans quamba-compile writes use a few dozen characters.
  static constexpr size_t kMaxLength = 1024;

  static NodePtr binary(ShapeExpr::Node::Kind kind, NodePtr lhs, NodePtr rhs) {
    auto node = std::make_shared<ShapeExpr::Node>();
    node->kind = kind;
    node->lhs = std::move(lhs);
    node->rhs = std::move(rhs);
    return node;
  }
  static NodePtr leaf(ShapeExpr::Node::Kind kind, int64_t value = 0) {
    auto node = std::make_shared<ShapeExpr::Node>();
    node->kind = kind;
    node->value = value;
    return node;
  }
  void skipSpace() {
    while (pos < text.size() && std::isspace(static_cast<unsigned char>(text[pos])))
      ++pos;
  }
  bool accept(const std::string &token) {
    skipSpace();
    if (text.compare(pos, token.size(), token) != 0)
      return false;
    pos += token.size();
    return true;
  }
  NodePtr fail(const std::string &message) {
    if (error.empty())
      error = message + " at offset " + std::to_string(pos);
    return leaf(ShapeExpr::Node::Constant);
  }
  NodePtr expr() {
    NodePtr lhs = term();
    while (error.empty()) {
      if (accept("+"))
        lhs = binary(ShapeExpr::Node::Add, lhs, term());
      else if (accept("-"))
        lhs = binary(ShapeExpr::Node::Sub, lhs, term());
      else
        break;
    }
    return lhs;
  }
  NodePtr term() {
    NodePtr lhs = factor();
    while (error.empty()) {
      if (accept("*"))
        lhs = binary(ShapeExpr::Node::Mul, lhs, factor());
      else if (accept("/"))
        lhs = binary(ShapeExpr::Node::Div, lhs, factor());
      else
        break;
    }
    return lhs;
  }
  NodePtr factor() {
    if (depth > 64)
      return fail("nested too deeply");
    skipSpace();
    if (accept("cdiv(")) {
      ++depth;
      NodePtr a = expr();
      if (!accept(","))
        return fail("expected ','");
      NodePtr b = expr();
      if (!accept(")"))
        return fail("expected ')'");
      --depth;
      return binary(ShapeExpr::Node::CeilDiv, a, b);
    }
    if (accept("(")) {
      ++depth;
      NodePtr inner = expr();
      if (!accept(")"))
        return fail("expected ')'");
      --depth;
      return inner;
    }
    if (accept("B"))
      return leaf(ShapeExpr::Node::Batch);
    if (accept("L"))
      return leaf(ShapeExpr::Node::Seqlen);
    if (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) {
      int64_t value = 0;
      while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) {
        if (value > (INT64_MAX - 9) / 10)
          return fail("integer too large");
        value = value * 10 + (text[pos++] - '0');
      }
      return leaf(ShapeExpr::Node::Constant, value);
    }
    return fail("expected an integer, B, L, '(' or cdiv(");
  }

  const std::string &text;
  size_t pos = 0;
  int depth = 0;
  std::string error;
};

} // namespace

ShapeExpr::ShapeExpr(int64_t value)
    : text_(std::to_string(value)),
      root_(std::make_shared<Node>(Node{Node::Constant, value, nullptr, nullptr})) {}

Result<ShapeExpr> ShapeExpr::parse(const std::string &text) {
  Parser parser(text);
  Result<NodePtr> root = parser.parseAll();
  if (!root)
    return makeError(root.error());
  ShapeExpr expr;
  expr.text_ = text;
  expr.root_ = root.take();
  return expr;
}

int64_t ShapeExpr::evaluate(int64_t batch, int64_t seqlen) const {
  // -1 for an overflow: no size, grid or scalar is negative, so every
  // consumer of the value refuses it.
  int64_t value = 0;
  if (root_ && !root_->evaluate(batch, seqlen, value))
    return -1;
  return value;
}

bool ShapeExpr::isConstant() const { return !root_ || root_->isConstant(); }

} // namespace quamba::plan
