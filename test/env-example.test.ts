// .env.example lists exactly the variables the hub reads, each with its own comment, secrets empty, defaults true.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { knownVariables, parseConfig } from '../src/config.js';

interface ExampleVariable {
  name: string;
  value: string;
  line: number;
  /** The comment line directly above the variable, if any (section headings do not count). */
  comment?: string;
}

const SECTION_HEADING = /^#\s*(====|----)/;
const ASSIGNMENT = /^([A-Z][A-Z0-9_]*)=(.*)$/;
// Names that hold secrets: client secrets, signing secrets, keys, webhook tokens (not *_TOKEN_URL).
const SECRET_NAME = /(SECRET|_KEY|_KEYS_PREVIOUS|_TOKEN)$/;

function parseEnvExample(text: string): { variables: ExampleVariable[]; invalid: string[] } {
  const variables: ExampleVariable[] = [];
  const invalid: string[] = [];
  let previous: string | undefined;
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (line === '') {
      previous = undefined;
      return;
    }
    if (line.startsWith('#')) {
      previous = SECTION_HEADING.test(line) ? undefined : line.replace(/^#\s*/, '');
      return;
    }
    const match = ASSIGNMENT.exec(line);
    if (!match) invalid.push(`line ${index + 1}: ${line}`);
    else variables.push({ name: match[1]!, value: match[2]!, line: index + 1, comment: previous || undefined });
    previous = undefined;
  });
  return { variables, invalid };
}

const text = readFileSync(new URL('../.env.example', import.meta.url), 'utf8');
const { variables, invalid } = parseEnvExample(text);
const names = variables.map((v) => v.name);

describe('.env.example', () => {
  it('holds only comments, blank lines and NAME=value lines', () => {
    expect(invalid).toEqual([]);
    expect(variables.length).toBeGreaterThan(0);
  });

  it('names every variable the hub reads, and nothing else', () => {
    const known = new Set(knownVariables());
    const listed = new Set(names);
    const missing = [...known].filter((n) => !listed.has(n)).sort();
    const unknown = [...listed].filter((n) => !known.has(n)).sort();
    expect({ missing, unknown }).toEqual({ missing: [], unknown: [] });
  });

  it('names each variable once', () => {
    const duplicates = names.filter((n, i) => names.indexOf(n) !== i);
    expect(duplicates).toEqual([]);
  });

  it('gives each variable a comment line of its own directly above it', () => {
    const uncommented = variables.filter((v) => !v.comment).map((v) => `${v.name} (line ${v.line})`);
    expect(uncommented).toEqual([]);
  });

  it('leaves every secret empty', () => {
    const secrets = variables.filter((v) => SECRET_NAME.test(v.name));
    expect(secrets.map((v) => v.name)).toContain('TOKEN_ENCRYPTION_KEY');
    expect(secrets.filter((v) => v.value !== '').map((v) => v.name)).toEqual([]);
  });

  it('shows the built-in defaults: parsing it gives the same config as an empty environment', () => {
    const env = Object.fromEntries(variables.map((v) => [v.name, v.value]));
    expect(parseConfig(env)).toEqual(parseConfig({}));
  });
});
