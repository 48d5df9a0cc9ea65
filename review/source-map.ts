// Maps resources and their fields back to the program's source with ts-morph. The program recorded,
// while it ran, the line and column of the call that declared each resource and of the helper calls
// that led to it (sdk/source-location.ts); here those positions become syntax nodes: the declaring
// call's range, the loops around it, and for each field the property assignment that sets it,
// followed through constants, spreads, helper parameters and re-exports with the type checker.
import { existsSync, readdirSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { Node, Project, ts, type CallExpression, type NewExpression, type SourceFile } from "ts-morph";
import type { SourceLocation } from "../core/model.ts";
import type { FieldOrigin, FieldSource, ResourceSource, SourceRange } from "./model.ts";

type Call = CallExpression | NewExpression;

/** A silencing comment: `// virtform-review-ignore RULE reason`. */
export interface IgnoreComment {
  rule: string;
  reason: string;
  at: SourceRange;
}

const IGNORE = /virtform-review-ignore\s+([A-Za-z0-9_-]+)(?:[ \t]+([^\n*]*\S))?/g;
const LOOP_CALLBACKS = new Set(["map", "forEach", "flatMap", "filter", "reduce", "some", "every"]);

export class SourceMapper {
  readonly project: Project;
  private readonly root: string;

  /** `root` resolves the relative file names recorded at run time (the working directory). */
  constructor(root = process.cwd(), project?: Project) {
    this.root = root;
    this.project =
      project ??
      new Project({
        // Only the program's own files: the SDK's types are not needed to find where a value is set.
        compilerOptions: { allowJs: false, noResolve: true, noLib: true, allowImportingTsExtensions: true, module: ts.ModuleKind.NodeNext, target: ts.ScriptTarget.ES2022 },
        skipAddingFilesFromTsConfig: true,
        skipFileDependencyResolution: true,
      });
  }

  /** Adds the program's files: every TypeScript file in its folder tree (not node_modules, not .virtform). */
  addProgram(programFile: string): void {
    const dir = dirname(resolve(this.root, programFile));
    for (const file of typeScriptFiles(dir)) if (!this.project.getSourceFile(file)) this.project.addSourceFileAtPath(file);
  }

  private file(name: string): SourceFile | undefined {
    const path = resolve(this.root, name);
    return this.project.getSourceFile(path) ?? (existsSync(path) ? this.project.addSourceFileAtPath(path) : undefined);
  }

  /** The call at a recorded position: the innermost call whose callee holds the position. */
  callAt(location: SourceLocation): Call | undefined {
    const file = this.file(location.file);
    if (!file) return undefined;
    let pos: number;
    try {
      pos = file.compilerNode.getPositionOfLineAndCharacter(location.line - 1, Math.max(0, (location.column ?? 1) - 1));
    } catch {
      return undefined;
    }
    let node: Node | undefined = file.getDescendantAtPos(pos);
    for (; node; node = node.getParent()) {
      if (Node.isCallExpression(node) || Node.isNewExpression(node)) {
        const callee = node.getExpression();
        if (callee.getStart() <= pos && pos <= callee.getEnd()) return node;
      }
    }
    // A position at the start of the line (no column): the first call on it.
    return file.getDescendants().find((n): n is Call => (Node.isCallExpression(n) || Node.isNewExpression(n)) && n.getStartLineNumber() === location.line);
  }

  resource(location: SourceLocation): ResourceSource | undefined {
    const call = this.callAt(location);
    if (!call) return undefined;
    const callerCalls = (location.callers ?? []).map((c) => this.callAt(c)).filter((c): c is Call => c !== undefined);
    return {
      call: rangeOf(call, this.root),
      callers: callerCalls.map((c) => rangeOf(c, this.root)),
      loops: [call, ...callerCalls].flatMap((c) => enclosingLoops(c)).map((l) => rangeOf(l, this.root)),
    };
  }

  /**
   * The property that sets a field (a dotted path), or the declaration when nothing in the source
   * sets it (a default, a value the SDK fills in) or when the value is computed.
   */
  field(location: SourceLocation, path: string): FieldSource | undefined {
    const call = this.callAt(location);
    if (!call) return undefined;
    const declaration: FieldSource = { range: rangeOf(call, this.root), origin: "declaration" };
    const callers = (location.callers ?? []).map((c) => this.callAt(c)).filter((c): c is Call => c !== undefined);
    const args = call.getArguments()[1];
    const found = args ? findPath(args, path.split(".").filter((p) => p !== ""), callers) : undefined;
    if (found) return { range: rangeOf(found.node, this.root), origin: found.origin };
    const handle = handleExpression(call, path);
    return handle ? { range: rangeOf(handle, this.root), origin: "handle" } : declaration;
  }

  /**
   * Where a Pulumi program declares a resource, for programs whose run recorded no position:
   * `new virtform.storage.Volume("data", {...})`, found by the class name and the literal name.
   */
  locateByName(kind: string, name: string): SourceLocation | undefined {
    for (const file of this.project.getSourceFiles()) {
      for (const node of file.getDescendants()) {
        if (!Node.isNewExpression(node)) continue;
        const callee = node.getExpression();
        const className = Node.isPropertyAccessExpression(callee) ? callee.getName() : callee.getText();
        const first = node.getArguments()[0];
        if (className !== kind || !first || !(Node.isStringLiteral(first) || Node.isNoSubstitutionTemplateLiteral(first)) || first.getLiteralText() !== name) continue;
        const { line, column } = file.getLineAndColumnAtPos(node.getStart());
        return { file: relative(this.root, file.getFilePath()) || file.getFilePath(), line, column };
      }
    }
    return undefined;
  }

  /** The ignore comments above the declaring call's statement and above each helper call that led to it. */
  ignores(location: SourceLocation): IgnoreComment[] {
    const calls = [location, ...(location.callers ?? [])].map((l) => this.callAt(l)).filter((c): c is Call => c !== undefined);
    return calls.flatMap((call) => ignoreComments(call, this.root));
  }
}

/**
 * Inputs the DSL's methods fill in from the handle they are called on: `slow.volume(...)` sets the
 * volume's pool, `web.instances(...)` the cluster, `data.attachTo(app)` the volume and the instance.
 */
function handleExpression(call: Call, path: string): Node | undefined {
  const callee = call.getExpression();
  if (!Node.isCallExpression(call) || !Node.isPropertyAccessExpression(callee)) return undefined;
  const field = path.split(".")[0];
  if (field === "pool" || field === "cluster" || field === "volume") return callee.getExpression();
  if (field === "instance" && callee.getName() === "attachTo") return call.getArguments()[0];
  return undefined;
}

function typeScriptFiles(dir: string): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === "node_modules" || entry.name.startsWith(".")) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...typeScriptFiles(path));
    else if (/\.(ts|mts|cts)$/.test(entry.name) && !entry.name.endsWith(".d.ts")) files.push(path);
  }
  return files;
}

export function rangeOf(node: Node, root: string): SourceRange {
  const file = node.getSourceFile();
  const start = file.getLineAndColumnAtPos(node.getStart());
  const end = file.getLineAndColumnAtPos(node.getEnd());
  return { file: relative(root, file.getFilePath()) || file.getFilePath(), line: start.line, column: start.column, endLine: end.line, endColumn: end.column };
}

export function enclosingLoops(call: Node): Node[] {
  const loops: Node[] = [];
  for (let node = call.getParent(); node; node = node.getParent()) {
    if (Node.isFunctionDeclaration(node) || Node.isMethodDeclaration(node)) break;
    if (Node.isForStatement(node) || Node.isForOfStatement(node) || Node.isForInStatement(node) || Node.isWhileStatement(node) || Node.isDoStatement(node)) {
      loops.push(node);
    } else if ((Node.isArrowFunction(node) || Node.isFunctionExpression(node)) && isLoopCallback(node)) {
      loops.push(node.getParentOrThrow());
    } else if (Node.isArrowFunction(node) || Node.isFunctionExpression(node)) {
      break; // a callback of anything else (the stack's build function) ends the search
    }
  }
  return loops;
}

/** `xs.map((x) => ...)`, `Array.from({ length }, () => ...)`. */
function isLoopCallback(fn: Node): boolean {
  const parent = fn.getParent();
  if (!parent || !Node.isCallExpression(parent)) return false;
  const callee = parent.getExpression();
  if (!Node.isPropertyAccessExpression(callee)) return false;
  const name = callee.getName();
  return LOOP_CALLBACKS.has(name) || (name === "from" && callee.getExpression().getText() === "Array");
}

interface Found {
  node: Node;
  origin: FieldOrigin;
}

/**
 * Walks a dotted path through an argument: object literals, constants that hold them (in this file
 * or imported, through re-exports), spreads, and parameters of the helper functions on the call chain.
 */
function findPath(expression: Node, parts: string[], callers: Call[], viaSpread = false): Found | undefined {
  const object = objectLiteral(expression, callers);
  if (!object || parts.length === 0) return undefined;
  const [name, ...rest] = parts;
  const properties = object.node.getProperties();
  // Later properties win, as in JavaScript.
  for (const property of [...properties].reverse()) {
    if (Node.isSpreadAssignment(property)) {
      const inner = findPath(property.getExpression(), parts, callers, true);
      if (inner) return inner;
      continue;
    }
    if (!(Node.isPropertyAssignment(property) || Node.isShorthandPropertyAssignment(property))) continue;
    if (property.getName() !== name) continue;
    const spread = viaSpread || object.viaSpread;
    const value = Node.isPropertyAssignment(property) ? property.getInitializer() : property.getNameNode();
    if (rest.length > 0 && value) {
      const deeper = findPath(value, rest, callers, spread);
      if (deeper) return deeper;
    }
    return { node: property, origin: spread ? "spread" : originOf(value, callers) };
  }
  return undefined;
}

function unwrap(node: Node): Node {
  let current = node;
  while (Node.isParenthesizedExpression(current) || Node.isAsExpression(current) || Node.isSatisfiesExpression(current) || Node.isNonNullExpression(current)) {
    current = current.getExpression();
  }
  return current;
}

/** The object literal an expression stands for, following identifiers to their definitions. */
function objectLiteral(expression: Node, callers: Call[], depth = 0): { node: import("ts-morph").ObjectLiteralExpression; viaSpread: boolean } | undefined {
  if (depth > 8) return undefined;
  const node = unwrap(expression);
  if (Node.isObjectLiteralExpression(node)) return { node, viaSpread: false };
  if (!Node.isIdentifier(node)) return undefined;
  const definition = definitionOf(node, callers);
  return definition ? objectLiteral(definition, callers, depth + 1) : undefined;
}

/** What an identifier is bound to: a constant's initializer, or the argument a helper was called with. */
function definitionOf(identifier: Node, callers: Call[]): Node | undefined {
  if (!Node.isIdentifier(identifier)) return undefined;
  for (const definition of identifier.getDefinitionNodes()) {
    if (Node.isVariableDeclaration(definition)) return definition.getInitializer();
    if (Node.isParameterDeclaration(definition)) return argumentFor(definition, callers);
  }
  return undefined;
}

/** The argument passed for a helper's parameter, at the call on the recorded chain that calls that helper. */
function argumentFor(parameter: import("ts-morph").ParameterDeclaration, callers: Call[]): Node | undefined {
  const fn = parameter.getParent();
  const position = (fn as { getParameters?: () => Node[] }).getParameters?.().indexOf(parameter) ?? -1;
  if (position < 0) return undefined;
  for (const call of callers) {
    const callee = unwrap(call.getExpression());
    const target = Node.isIdentifier(callee) ? callee : Node.isPropertyAccessExpression(callee) ? callee.getNameNode() : undefined;
    if (!target) continue;
    const defs = target.getDefinitionNodes();
    const calls = defs.some((d) => d === fn || (Node.isVariableDeclaration(d) && d.getInitializer() === fn));
    if (calls) return call.getArguments()[position];
  }
  return undefined;
}

function originOf(value: Node | undefined, callers: Call[]): FieldOrigin {
  if (!value) return "declaration";
  const node = unwrap(value);
  if (isLiteral(node)) return "literal";
  if (Node.isIdentifier(node) || Node.isShorthandPropertyAssignment(value)) {
    const definition = definitionOf(Node.isIdentifier(node) ? node : value, callers);
    return definition && isLiteral(unwrap(definition)) ? "constant" : "computed";
  }
  return Node.isObjectLiteralExpression(node) || Node.isArrayLiteralExpression(node) ? "literal" : "computed";
}

function isLiteral(node: Node): boolean {
  return (
    Node.isStringLiteral(node) ||
    Node.isNumericLiteral(node) ||
    Node.isNoSubstitutionTemplateLiteral(node) ||
    Node.isTrueLiteral(node) ||
    Node.isFalseLiteral(node) ||
    Node.isObjectLiteralExpression(node) ||
    Node.isArrayLiteralExpression(node) ||
    (Node.isPrefixUnaryExpression(node) && Node.isNumericLiteral(node.getOperand()))
  );
}

function ignoreComments(call: Node, root: string): IgnoreComment[] {
  const statement = call.getFirstAncestor((n) => Node.isStatement(n) && !Node.isBlock(n)) ?? call;
  const file = call.getSourceFile();
  const text = file.getFullText();
  const found: IgnoreComment[] = [];
  const ranges = [...(ts.getLeadingCommentRanges(text, statement.getPos()) ?? [])];
  if (statement !== call && call.getPos() !== statement.getPos()) ranges.push(...(ts.getLeadingCommentRanges(text, call.getPos()) ?? []));
  for (const comment of ranges) {
    const body = text.slice(comment.pos, comment.end);
    for (const match of body.matchAll(IGNORE)) {
      const start = file.getLineAndColumnAtPos(comment.pos);
      const end = file.getLineAndColumnAtPos(comment.end);
      found.push({
        rule: match[1]!,
        reason: (match[2] ?? "").trim(),
        at: { file: relative(root, file.getFilePath()), line: start.line, column: start.column, endLine: end.line, endColumn: end.column },
      });
    }
  }
  return found;
}
