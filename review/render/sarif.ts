// The review as SARIF 2.1.0 for code scanning: one result per finding, located at the field or
// declaration that causes it; findings silenced by an ignore comment carry an in-source suppression.
import type { Finding, Review, SourceRange } from "../model.ts";
import { rules } from "../rules.ts";
import packageJson from "../../package.json" with { type: "json" };

const LEVEL = { error: "error", warning: "warning", note: "note" } as const;

function location(range: SourceRange | undefined, address: string | undefined) {
  const logical = address ? { logicalLocations: [{ fullyQualifiedName: address, kind: "resource" }] } : {};
  if (!range || range.revision) return address ? [logical] : [];
  return [
    {
      physicalLocation: {
        artifactLocation: { uri: range.file.split("\\").join("/"), uriBaseId: "%SRCROOT%" },
        region: { startLine: range.line, startColumn: range.column, endLine: range.endLine, endColumn: range.endColumn },
      },
      ...logical,
    },
  ];
}

export function reviewToSarif(review: Review): unknown {
  const index = new Map(rules.map((r, i) => [r.id, i]));
  const result = (f: Finding, address?: string) => ({
    ruleId: f.rule,
    ...(index.has(f.rule) ? { ruleIndex: index.get(f.rule) } : {}),
    level: LEVEL[f.severity],
    message: { text: f.message },
    locations: location(f.at, address),
    ...(f.ignored ? { suppressions: [{ kind: "inSource", justification: f.ignored.reason }] } : {}),
  });
  return {
    $schema: "https://json.schemastore.org/sarif-2.1.0.json",
    version: "2.1.0",
    runs: [
      {
        tool: {
          driver: {
            name: "virtform",
            version: packageJson.version,
            informationUri: "https://github.com/virtform/virtform",
            rules: rules.map((r) => ({
              id: r.id,
              name: r.title.replace(/[^A-Za-z]/g, ""),
              shortDescription: { text: r.title },
              fullDescription: { text: r.explanation },
              defaultConfiguration: { level: LEVEL[r.severity] },
            })),
          },
        },
        results: [...review.changes.flatMap((c) => c.findings.map((f) => result(f, c.address))), ...review.findings.map((f) => result(f))],
      },
    ],
  };
}
