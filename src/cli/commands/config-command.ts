import { z } from 'zod';
import { loadProject } from '../../config/project.ts';
import { pipelineConfigSchema } from '../../config/schema.ts';
import type { Command } from '../command.ts';
import { printJson } from '../context-options.ts';

interface JsonSchemaNode {
  readonly type?: string | string[];
  readonly description?: string;
  readonly properties?: Record<string, JsonSchemaNode>;
  readonly items?: JsonSchemaNode;
  readonly required?: readonly string[];
  readonly default?: unknown;
  readonly enum?: readonly unknown[];
}

/** Renders the config reference from the same schema that validates the file. */
export function configDocs(): string {
  const root = z.toJSONSchema(pipelineConfigSchema, { io: 'input', unrepresentable: 'any' }) as JsonSchemaNode;
  const lines = [
    '# medallion.yml reference',
    '',
    'Generated from the schema that validates the file; unknown keys are rejected.',
    '',
  ];
  const walk = (node: JsonSchemaNode, path: string) => {
    for (const [key, child] of Object.entries(node.properties ?? {})) {
      const p = path ? `${path}.${key}` : key;
      const type = Array.isArray(child.type) ? child.type.join('|') : (child.type ?? 'value');
      const req = node.required?.includes(key) && child.default === undefined ? ' (required)' : '';
      const def = child.default !== undefined ? ` — default \`${JSON.stringify(child.default)}\`` : '';
      lines.push(`- \`${p}\` (${type})${req}${def}${child.description ? `: ${child.description}` : ''}`);
      if (child.properties) walk(child, p);
      if (child.items?.properties) walk(child.items, `${p}[]`);
    }
  };
  walk(root, '');
  return `${lines.join('\n')}\n`;
}

/** `medallion config`. */
export const configCommand: Command = {
  name: 'config',
  summary:
    'Validate the pipeline project config and print it resolved (defaults filled in), or print the reference of every key.',
  usage: 'config [--docs] [--json]',
  options: {
    docs: { type: 'boolean', description: 'Print the reference of every config key (Markdown).' },
    json: { type: 'boolean', description: 'Print the resolved config as JSON.' },
  },
  async run(values) {
    if (values['docs']) {
      process.stdout.write(configDocs());
      return 0;
    }
    const project = loadProject({
      projectDir: values['project'] as string | undefined,
      dataDir: values['data-dir'] as string | undefined,
    });
    if (values['json']) printJson({ projectDir: project.dir, dataDir: project.paths.root, config: project.config });
    else {
      process.stdout.write(
        `${project.configPath} is valid.\nproject: ${project.dir}\ndata directory: ${project.paths.root}\n`,
      );
    }
    return 0;
  },
};
