// Checks only a typed program allows, found with the type checker: an image variant chosen by a
// computed string, an `any` or a cast that hides a resource input, a secret unwrapped into a plain
// value, a resource declared in a loop whose bound is not a constant. Reported as warnings with
// their location (`virtform check`).
import { relative } from "node:path";
import { Node, type CallExpression, type Project } from "ts-morph";
import { enclosingLoops } from "./source-map.ts";
import { ownFiles, type TypeDiagnostic } from "./typecheck.ts";

/** The DSL's declaring methods, by the class of the handle they are called on. */
const DECLARING: Record<string, readonly string[]> = {
  StackBuilder: ["storagePool", "image", "cluster"],
  StoragePool: ["volume"],
  Cluster: ["instances"],
  Volume: ["snapshot", "attachTo"],
};

const receiverClass = (call: CallExpression) => {
  const callee = call.getExpression();
  return Node.isPropertyAccessExpression(callee) ? callee.getExpression().getType().getSymbol()?.getName() : undefined;
};
const methodName = (call: CallExpression) => {
  const callee = call.getExpression();
  return Node.isPropertyAccessExpression(callee) ? callee.getName() : undefined;
};

function isDeclaring(call: CallExpression): boolean {
  const cls = receiverClass(call);
  const name = methodName(call);
  return !!cls && !!name && (DECLARING[cls] ?? []).includes(name);
}

/** A declaring call, or a call of a function of the program that makes one (a helper, two levels deep). */
function declares(call: CallExpression, depth = 0): boolean {
  if (isDeclaring(call)) return true;
  if (depth >= 2) return false;
  const callee = call.getExpression();
  if (!Node.isIdentifier(callee)) return false;
  return callee.getDefinitionNodes().some((definition) => {
    const body = Node.isVariableDeclaration(definition) ? definition.getInitializer() : definition;
    if (!body || !(Node.isFunctionDeclaration(body) || Node.isArrowFunction(body) || Node.isFunctionExpression(body))) return false;
    return body.getDescendants().some((n) => Node.isCallExpression(n) && declares(n, depth + 1));
  });
}

function unwrap(node: Node): Node {
  let current = node;
  while (Node.isParenthesizedExpression(current) || Node.isNonNullExpression(current)) current = current.getExpression();
  return current;
}

const isConstAssertion = (node: Node) => Node.isAsExpression(node) && node.getTypeNode()?.getText() === "const";

/** A value fixed in the source: a literal, an array or object of them, or a const bound to one. */
function isConstant(node: Node, depth = 0): boolean {
  const n = unwrap(node);
  if (depth > 6) return false;
  if (Node.isStringLiteral(n) || Node.isNumericLiteral(n) || Node.isNoSubstitutionTemplateLiteral(n) || Node.isTrueLiteral(n) || Node.isFalseLiteral(n)) return true;
  if (Node.isAsExpression(n) && isConstAssertion(n)) return isConstant(n.getExpression(), depth + 1);
  if (Node.isArrayLiteralExpression(n)) return n.getElements().every((e) => isConstant(e, depth + 1));
  if (Node.isObjectLiteralExpression(n)) return n.getProperties().every((p) => Node.isPropertyAssignment(p) && isConstant(p.getInitializerOrThrow(), depth + 1));
  if (Node.isPropertyAccessExpression(n) && n.getName() === "length") return isConstant(n.getExpression(), depth + 1);
  if (Node.isCallExpression(n)) {
    // Object.keys(CONST), Object.entries(CONST)
    const callee = n.getExpression();
    return Node.isPropertyAccessExpression(callee) && callee.getExpression().getText() === "Object" && n.getArguments().every((a) => isConstant(a, depth + 1));
  }
  if (Node.isIdentifier(n)) {
    return n.getDefinitionNodes().some((d) => Node.isVariableDeclaration(d) && d.getVariableStatement()?.getDeclarationKind() === "const" && !!d.getInitializer() && isConstant(d.getInitializer()!, depth + 1));
  }
  return false;
}

/** What decides how many times a loop runs. */
function loopBound(loop: Node): Node | undefined {
  if (Node.isForStatement(loop)) {
    const condition = loop.getCondition();
    return condition && Node.isBinaryExpression(condition) ? condition.getRight() : condition;
  }
  if (Node.isForOfStatement(loop) || Node.isForInStatement(loop)) return loop.getExpression();
  if (Node.isCallExpression(loop)) {
    const callee = loop.getExpression();
    if (!Node.isPropertyAccessExpression(callee)) return undefined;
    // Array.from({ length: n }, ...): n; xs.map(...): xs
    if (callee.getName() === "from" && callee.getExpression().getText() === "Array") {
      const first = loop.getArguments()[0];
      const length = first && Node.isObjectLiteralExpression(unwrap(first)) ? (unwrap(first) as import("ts-morph").ObjectLiteralExpression).getProperty("length") : undefined;
      return length && Node.isPropertyAssignment(length) ? length.getInitializer() : first;
    }
    return callee.getExpression();
  }
  return undefined; // while and do loops: their bound is whatever ends them
}

export function typedChecks(project: Project, cwd = process.cwd()): TypeDiagnostic[] {
  const found: TypeDiagnostic[] = [];
  const report = (node: Node, code: string, message: string) => {
    const file = node.getSourceFile();
    const { line, column } = file.getLineAndColumnAtPos(node.getStart());
    found.push({ file: relative(cwd, file.getFilePath()) || file.getFilePath(), line, column, severity: "warning", code: `typed/${code}`, message });
  };
  const files = ownFiles(project.getSourceFiles().map((f) => ({ fileName: f.getFilePath() as string, isDeclarationFile: f.isDeclarationFile(), f }))).map((x) => x.f);
  for (const file of files) {
    for (const call of file.getDescendants().filter(Node.isCallExpression)) {
      if (methodName(call) === "variant" && receiverClass(call) === "Image") {
        const arg = call.getArguments()[0];
        if (arg && !isConstant(arg)) report(arg, "computed-variant", `image variant chosen by a computed value (${arg.getText()}): the plan shows which variant only once the program runs; name it with a literal`);
        continue;
      }
      if (!declares(call)) continue;
      for (const loop of enclosingLoops(call)) {
        const bound = loopBound(loop);
        if (!bound || !isConstant(bound)) {
          report(loop, "loop-bound", `a resource is declared in a loop whose bound is not a constant${bound ? ` (${bound.getText()})` : ""}: how many resources the plan holds depends on run-time values`);
        }
      }
      if (!isDeclaring(call)) continue;
      for (const arg of call.getArguments().slice(1)) {
        for (const node of [arg, ...arg.getDescendants()]) {
          if ((Node.isAsExpression(node) && !isConstAssertion(node)) || Node.isTypeAssertion(node)) {
            report(node, "cast", `a cast hides a resource input from the type checker (${node.getText()}); fix the value's type instead`);
          } else if (Node.isPropertyAssignment(node) && node.getInitializer()?.getType().isAny()) {
            report(node, "any", `${node.getName()} is typed any: the type checker cannot check this resource input`);
          } else if (Node.isSpreadAssignment(node) && node.getExpression().getType().isAny()) {
            report(node, "any", `a spread of an any value hides resource inputs from the type checker`);
          } else if (Node.isPropertyAccessExpression(node) && node.getName() === "value" && node.getExpression().getType().getSymbol()?.getName() === "Secret") {
            report(node, "secret-unwrapped", `${node.getText()} passes a secret as a plain value: it is shown and stored in the clear; pass the secret itself`);
          }
        }
      }
    }
  }
  // A loop declaring several resources is reported once.
  const seen = new Set<string>();
  return found.filter((d) => {
    const key = `${d.file}:${d.line}:${d.column}:${d.code}`;
    return seen.has(key) ? false : (seen.add(key), true);
  });
}
