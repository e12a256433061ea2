import { z } from 'zod';
import { configSchema } from './config';

/** Where the generated page lives, relative to the repository root. */
export const CONFIGURATION_DOC = 'docs/configuration.md';

const PREAMBLE = `# Configuration

<!-- Generated from the config schema (apps/server/src/config.ts) by \`pnpm docs:config\`; do not edit. -->

Settings come from the environment, or from a \`.env\` file in the directory the server starts from
(real environment variables win). An empty value counts as unset. A bad value stops start-up with
one line naming the setting and the problem; a secret's value is never shown.
\`.env.example\` lists the same settings, grouped, with their defaults.
`;

type FieldJsonSchema = {
  type?: string;
  enum?: unknown[];
  format?: string;
  minimum?: number;
  maximum?: number;
  description?: string;
  default?: unknown;
};

function kindOf(json: FieldJsonSchema): string {
  if (json.enum) return json.enum.map((value) => `\`${String(value)}\``).join(' \\| ');
  const range =
    json.minimum !== undefined && json.maximum !== undefined
      ? ` ${json.minimum.toLocaleString('en-US')}–${json.maximum.toLocaleString('en-US')}`
      : '';
  if (json.type === 'integer') return `integer${range}`;
  if (json.type === 'number') return `number${range}`;
  if (json.format === 'uri') return 'URL';
  return 'text';
}

/** The default as it is written in the environment; else as parsed (a boolean's `false`). */
function defaultOf(schema: z.ZodType, json: FieldJsonSchema): string {
  if (json.default !== undefined) return `\`${String(json.default)}\``;
  const parsed = schema.safeParse(undefined);
  if (!parsed.success || parsed.data === undefined) return '(unset)';
  const value = Array.isArray(parsed.data) ? parsed.data.join(',') : String(parsed.data);
  return `\`${value}\``;
}

const cell = (text: string) => text.replaceAll('|', '\\|').replaceAll('\n', ' ');

/** The settings table, one row per setting of the schema, in the schema's order. */
export function settingsTable(): string {
  const rows = Object.entries(configSchema.shape).map(([name, schema]) => {
    const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as FieldJsonSchema;
    return `| \`${name}\` | ${defaultOf(schema, json)} | ${kindOf(json)} | ${cell(schema.description ?? '')} |`;
  });
  return ['| setting | default | values | meaning |', '|---|---|---|---|', ...rows].join('\n');
}

export function configurationDoc(): string {
  return `${PREAMBLE}\n${settingsTable()}\n`;
}
