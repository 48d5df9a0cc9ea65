// Diagnostics for tools, in the shape of Terraform's JSON diagnostics: severity, summary, the
// resource address, and the source range (a point: we know the line and maybe the column).
import type { Diagnostic } from "../../core/model.ts";

export function diagnosticsToJson(diagnostics: readonly Diagnostic[]) {
  return diagnostics.map((d) => {
    const point = d.source ? { line: d.source.line, column: d.source.column ?? 1 } : undefined;
    return {
      severity: d.severity,
      summary: d.message,
      address: d.address ?? null,
      ...(d.path ? { path: d.path } : {}),
      range: d.source && point ? { filename: d.source.file, start: point, end: point } : null,
    };
  });
}
