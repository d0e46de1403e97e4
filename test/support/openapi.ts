import Ajv2020, { type ValidateFunction } from "ajv/dist/2020.js";
import { ERROR_CODES } from "../../src/http/reply.ts";

type Doc = { paths: Record<string, Record<string, { responses: Record<string, any> }>>; components: unknown };

/**
 * Checks real answers against the served OpenAPI document: the operation must exist for the
 * method and concrete path, the status must be documented for it, an error's code must be one
 * that status lists, and a JSON body must validate against the documented schema (ajv, JSON
 * Schema 2020-12, which OpenAPI 3.1 uses). Unknown routes must be the documented 404 NOT_FOUND.
 */
export class OpenApiOracle {
  private readonly ajv = new Ajv2020({ strict: false, allErrors: true });
  private readonly compiled = new Map<string, ValidateFunction>();
  private readonly templates: { re: RegExp; template: string }[];

  constructor(private readonly doc: Doc) {
    this.ajv.addSchema({ ...doc, $id: "openapi" } as object);
    this.templates = Object.keys(doc.paths).map((template) => ({
      template,
      re: new RegExp(`^${template.replace(/\{[^}]+\}/g, "[^/]+")}$`),
    }));
  }

  /** The documented path template matching a concrete path (no query), if any. */
  templateOf(path: string): string | undefined {
    return this.templates.find((t) => t.re.test(path))?.template;
  }

  /** Problems with one answer; empty when it agrees with the document. */
  check(method: string, pathAndQuery: string, status: number, contentType: string | null, body: string): string[] {
    // The router ignores one trailing slash (/fee/ is /fee), as the document's info says.
    const raw = pathAndQuery.split("?")[0]!;
    const path = raw.length > 1 && raw.endsWith("/") ? raw.slice(0, -1) : raw;
    const where = `${method} ${path} → ${status}`;
    const template = this.templateOf(path);
    const op = template ? this.doc.paths[template]![method.toLowerCase()] : undefined;
    if (method === "OPTIONS" && template && status === 204) return [];
    if (!op) {
      if (status !== 404) return [`${where}: an undocumented route must answer 404`];
      return this.errorShape(where, body, ["NOT_FOUND"]);
    }
    const resp = op.responses[String(status)];
    if (!resp) return [`${where}: status not documented for ${method} ${template}`];
    const schema = resp.content?.["application/json"]?.schema;
    if (!schema) return [];
    if (!(contentType ?? "").startsWith("application/json")) return [`${where}: content-type ${contentType}, documented JSON`];
    const key = `${template} ${method} ${status}`;
    let validate = this.compiled.get(key);
    if (!validate) {
      const pointer = `#/paths/${template!.replaceAll("~", "~0").replaceAll("/", "~1")}/${method.toLowerCase()}/responses/${status}/content/application~1json/schema`;
      validate = this.ajv.compile({ $ref: `openapi${pointer}` });
      this.compiled.set(key, validate);
    }
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      return [`${where}: body is not JSON: ${body.slice(0, 80)}`];
    }
    if (!validate(json)) return [`${where}: ${this.ajv.errorsText(validate.errors)} in ${body.slice(0, 200)}`];
    return status >= 400 ? this.errorShape(where, body, [...ERROR_CODES]) : [];
  }

  private errorShape(where: string, body: string, codes: string[]): string[] {
    try {
      const j = JSON.parse(body) as { ok?: unknown; code?: unknown; message?: unknown };
      if (j.ok !== false || typeof j.message !== "string" || !codes.includes(String(j.code))) {
        return [`${where}: not the error shape with a code in ${codes.join("|")}: ${body.slice(0, 120)}`];
      }
      return [];
    } catch {
      return [`${where}: error body is not JSON: ${body.slice(0, 80)}`];
    }
  }
}

/** Every `code` enum value anywhere in the document. */
export function documentedCodes(doc: unknown): Set<string> {
  const out = new Set<string>();
  const walk = (v: unknown, parentKey: string): void => {
    if (Array.isArray(v)) {
      if (parentKey === "enum") return;
      for (const x of v) walk(x, "");
    } else if (v && typeof v === "object") {
      for (const [k, x] of Object.entries(v)) {
        if (parentKey === "properties" && k === "code" && x && typeof x === "object" && Array.isArray((x as { enum?: unknown }).enum)) {
          for (const c of (x as { enum: string[] }).enum) out.add(c);
        }
        walk(x, k);
      }
    }
  };
  walk(doc, "");
  return out;
}
