import { readFileSync } from 'node:fs';
import { Ajv, type ValidateFunction } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { parse as parseYaml } from 'yaml';

/**
 * The upstream APIs Hearth's adapters talk to, as published by their makers. The files are copies
 * of `../shared/contracts` (a test keeps them identical) so a clean checkout can check against them.
 */
export const CONTRACT_FILES = {
  letta: new URL('../contracts/letta-openapi.json', import.meta.url),
  supabaseAuth: new URL('../contracts/supabase-auth-openapi.yaml', import.meta.url),
} as const;

export type ContractName = keyof typeof CONTRACT_FILES;

export interface ContractRequest {
  method: string;
  /** The path as sent, after the API's base path (e.g. `/v1/agents/agent-1` for Letta, `/signup` for Supabase Auth). */
  path: string;
  query?: URLSearchParams;
  /** Parsed JSON body; undefined when there is none. */
  body?: unknown;
}

export interface ContractResponse {
  status: number;
  /** Parsed JSON body; undefined for an empty body or a stream. */
  body?: unknown;
}

export class ContractViolation extends Error {
  override readonly name = 'ContractViolation';
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
  }
}

interface Operation {
  template: string;
  method: string;
  pointer: string;
  spec: OperationSpec;
  matcher: RegExp;
}

interface ParameterSpec {
  name: string;
  in: string;
  required?: boolean;
  schema?: unknown;
}

interface OperationSpec {
  operationId?: string;
  parameters?: Array<ParameterSpec | { $ref: string }>;
  requestBody?: { required?: boolean; content?: Record<string, unknown> } | { $ref: string };
  responses?: Record<string, { content?: Record<string, unknown> } | { $ref: string }>;
}

interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, OperationSpec>>;
  components?: Record<string, Record<string, unknown>>;
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];
const DOCUMENT_ID = 'openapi';

// ajv-formats ships CommonJS whose default export TypeScript sees one level deeper than Node does.
const addFormats = ((addFormatsModule as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv) => Ajv;

const escapePointer = (segment: string) => segment.replaceAll('~', '~0').replaceAll('/', '~1');

const cache = new Map<ContractName, OpenApiContract>();

/**
 * An OpenAPI document turned into checks: is this a request the API defines, with a body its
 * schema accepts, and is this a response it could give. Fakes run every exchange through one, so
 * a fake or an adapter drifting from the real API fails a test instead of passing silently.
 */
export class OpenApiContract {
  private readonly ajv: Ajv;
  /** Query strings carry text only: this one reads "5" as 5 and "true" as true where the schema says so. */
  private readonly queryAjv: Ajv;
  private readonly operations: Operation[];
  private readonly validators = new Map<string, ValidateFunction>();
  private readonly document: OpenApiDocument;

  static load(name: ContractName): OpenApiContract {
    let contract = cache.get(name);
    if (!contract) {
      const text = readFileSync(CONTRACT_FILES[name], 'utf8');
      contract = new OpenApiContract(name === 'supabaseAuth' ? parseYaml(text) : JSON.parse(text));
      cache.set(name, contract);
    }
    return contract;
  }

  constructor(published: OpenApiDocument) {
    const document = loosenOneOf(published) as OpenApiDocument;
    this.document = document;
    // 3.1 schemas are JSON Schema 2020-12; 3.0 schemas are draft-04-ish with `nullable`, which Ajv knows.
    const options = { strict: false, allErrors: true, validateSchema: false, discriminator: false } as const;
    const create = (coerceTypes: false | 'array') => {
      const ajv = document.openapi.startsWith('3.1')
        ? new Ajv2020({ ...options, coerceTypes })
        : new Ajv({ ...options, coerceTypes });
      addFormats(ajv);
      ajv.addFormat('phone', true);
      ajv.addSchema(document as object, DOCUMENT_ID);
      return ajv;
    };
    this.ajv = create(false);
    this.queryAjv = create('array');
    this.operations = Object.entries(document.paths).flatMap(([template, item]) =>
      Object.entries(item)
        .filter(([method]) => METHODS.includes(method))
        .map(([method, spec]) => ({
          template,
          method,
          spec,
          pointer: `#/paths/${escapePointer(template)}/${method}`,
          matcher: new RegExp(
            `^${template
              .replace(/\/+$/, '')
              .split(/\{[^}]+\}/)
              .map((part) => part.replace(/[.*+?^$()|[\]\\]/g, '\\$&'))
              .join('[^/]+')}/?$`,
          ),
        })),
    );
    // Literal segments beat parameters: `/agents/search` is not `/agents/{agent_id}`.
    this.operations.sort(
      (a, b) => b.template.replace(/\{[^}]+\}/g, '').length - a.template.replace(/\{[^}]+\}/g, '').length,
    );
  }

  /** The operation a request addresses, or a violation naming the route the API does not have. */
  operation(method: string, path: string): { operationId: string | undefined; template: string } {
    const operation = this.find(method, path);
    if (!operation) throw new ContractViolation([`${method.toUpperCase()} ${path} is not in the API`]);
    return { operationId: operation.spec.operationId, template: operation.template };
  }

  checkRequest(request: ContractRequest): void {
    const operation = this.find(request.method, request.path);
    if (!operation) throw new ContractViolation([`${request.method.toUpperCase()} ${request.path} is not in the API`]);
    const where = `${request.method.toUpperCase()} ${operation.template}`;
    const problems: string[] = [];
    const query = request.query ?? new URLSearchParams();
    const parameters = (operation.spec.parameters ?? []).map((parameter, index) =>
      '$ref' in parameter
        ? { spec: this.resolve<ParameterSpec>(parameter.$ref), pointer: parameter.$ref }
        : { spec: parameter, pointer: `${operation.pointer}/parameters/${index}` },
    );
    const known = new Set(parameters.filter((p) => p.spec.in === 'query').map((p) => p.spec.name));
    for (const { spec, pointer } of parameters) {
      if (spec.in !== 'query') continue;
      const values = query.getAll(spec.name);
      if (values.length === 0) {
        if (spec.required) problems.push(`${where}: query parameter ${spec.name} is required`);
        continue;
      }
      if (!spec.schema) continue;
      problems.push(...this.validateQuery(`${pointer}/schema`, values, `${where}: query ${spec.name}`));
    }
    for (const name of query.keys()) {
      if (!known.has(name)) problems.push(`${where}: unknown query parameter ${name}`);
    }

    const body = operation.spec.requestBody;
    const bodySpec = body && '$ref' in body ? this.resolve<{ required?: boolean; content?: object }>(body.$ref) : body;
    if (request.body === undefined) {
      if (bodySpec?.required) problems.push(`${where}: a JSON body is required`);
    } else if (!bodySpec?.content || !('application/json' in bodySpec.content)) {
      problems.push(`${where}: takes no JSON body`);
    } else {
      const pointer =
        body && '$ref' in body
          ? `${body.$ref}/content/application~1json/schema`
          : `${operation.pointer}/requestBody/content/application~1json/schema`;
      problems.push(...this.validate(pointer, request.body, `${where}: body`));
    }
    if (problems.length > 0) throw new ContractViolation(problems);
  }

  checkResponse(request: Pick<ContractRequest, 'method' | 'path'>, response: ContractResponse): void {
    const operation = this.find(request.method, request.path);
    if (!operation) throw new ContractViolation([`${request.method.toUpperCase()} ${request.path} is not in the API`]);
    const where = `${request.method.toUpperCase()} ${operation.template} → ${response.status}`;
    const responses = operation.spec.responses ?? {};
    const key = [String(response.status), `${String(response.status)[0]}XX`, 'default'].find((k) => k in responses);
    if (!key) throw new ContractViolation([`${where}: the API declares no such status`]);
    const declared = responses[key];
    const pointer =
      declared && '$ref' in declared ? declared.$ref : `${operation.pointer}/responses/${escapePointer(key)}`;
    const spec = declared && '$ref' in declared ? this.resolve<{ content?: object }>(declared.$ref) : declared;
    if (response.body === undefined || !spec?.content || !('application/json' in spec.content)) return;
    const problems = this.validate(`${pointer}/content/application~1json/schema`, response.body, `${where}: body`);
    if (problems.length > 0) throw new ContractViolation(problems);
  }

  /** Checks a value against a named schema in `components/schemas`, e.g. one event of a stream. */
  checkSchema(name: string, value: unknown): void {
    if (!this.document.components?.schemas?.[name]) throw new ContractViolation([`no schema named ${name}`]);
    const problems = this.validate(`#/components/schemas/${escapePointer(name)}`, value, name);
    if (problems.length > 0) throw new ContractViolation(problems);
  }

  private find(method: string, path: string): Operation | undefined {
    const bare = path.split('?')[0] ?? path;
    return this.operations.find(
      (operation) => operation.method === method.toLowerCase() && operation.matcher.test(bare),
    );
  }

  private validate(pointer: string, value: unknown, label: string): string[] {
    let validator = this.validators.get(pointer);
    if (!validator) {
      validator = this.ajv.compile({ $ref: `${DOCUMENT_ID}${pointer}` });
      this.validators.set(pointer, validator);
    }
    if (validator(value)) return [];
    return (validator.errors ?? []).map(
      (error) =>
        `${label}${error.instancePath || ''}: ${error.message ?? 'is not valid'} ${formatParams(error.params)}`,
    );
  }

  private validateQuery(pointer: string, values: string[], label: string): string[] {
    let validator = this.validators.get(`query:${pointer}`);
    if (!validator) {
      // Wrapped in an object so Ajv can coerce the value in place.
      validator = this.queryAjv.compile({
        type: 'object',
        properties: { value: { $ref: `${DOCUMENT_ID}${pointer}` } },
      });
      this.validators.set(`query:${pointer}`, validator);
    }
    const data = { value: values.length === 1 ? values[0] : values };
    if (validator(data)) return [];
    return (validator.errors ?? []).map(
      (error) => `${label}: ${error.message ?? 'is not valid'} ${formatParams(error.params)}`,
    );
  }

  private resolve<T>(ref: string): T {
    let node: unknown = this.document;
    for (const segment of ref.replace(/^#\//, '').split('/')) {
      node = (node as Record<string, unknown>)[segment.replaceAll('~1', '/').replaceAll('~0', '~')];
    }
    return node as T;
  }
}

/**
 * Published specs use `oneOf` where the branches overlap (Supabase's signup answers "a session or a
 * user", and a session's fields fit the open user schema too), so a strict reading would reject the
 * real API's own answers. `anyOf` keeps every branch's checks without demanding exactly one.
 */
function loosenOneOf(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(loosenOneOf);
  if (!node || typeof node !== 'object') return node;
  return Object.fromEntries(
    Object.entries(node).map(([key, value]) => [key === 'oneOf' ? 'anyOf' : key, loosenOneOf(value)]),
  );
}

function formatParams(params: Record<string, unknown>): string {
  const shown = Object.entries(params).filter(([, value]) => value !== undefined);
  return shown.length === 0 ? '' : `(${shown.map(([key, value]) => `${key}: ${JSON.stringify(value)}`).join(', ')})`;
}

/**
 * What a fake saw that the API does not allow, collected rather than thrown so the fake still
 * answers and the test, at its end, fails with every violation listed.
 */
export class ContractLog {
  readonly violations: string[] = [];
  requests = 0;
  responses = 0;

  constructor(readonly contract: OpenApiContract) {}

  /** Records the request's violations; false when it breaks the contract. */
  request(request: ContractRequest): boolean {
    this.requests += 1;
    return this.record(() => this.contract.checkRequest(request));
  }

  response(request: Pick<ContractRequest, 'method' | 'path'>, response: ContractResponse): void {
    this.responses += 1;
    this.record(() => this.contract.checkResponse(request, response));
  }

  /** For one event of a stream, checked against a named schema. */
  event(schemaName: string, value: unknown): void {
    this.record(() => this.contract.checkSchema(schemaName, value));
  }

  /** Throws every violation seen so far, and forgets them. */
  assertClean(): void {
    const seen = this.violations.splice(0);
    if (seen.length > 0) throw new ContractViolation(seen);
  }

  private record(check: () => void): boolean {
    try {
      check();
      return true;
    } catch (error) {
      if (!(error instanceof ContractViolation)) throw error;
      this.violations.push(...error.problems);
      return false;
    }
  }
}
